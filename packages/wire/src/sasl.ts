import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

/** SASL mechanisms this transport speaks; names as kafkajs and Java's `sasl.mechanism` spell them. */
export type SaslOptions =
  | { readonly mechanism: 'plain'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string }

/** One exchange of a SASL conversation: bytes to send, and what to do with the server's answer. */
export interface SaslStep {
  readonly send: Buffer
  /** Checks the server's answer; returns the next step, or undefined when authentication is complete. */
  readonly receive: (answer: Buffer) => SaslStep | undefined
}

/** Thrown when the server's SCRAM answers do not check out; the message never holds the password. */
export class SaslProtocolError extends Error {}

/** The first step of the conversation for `options`; `nonce` is the SCRAM client nonce (random unless given). */
export function saslConversation(options: SaslOptions, nonce = randomBytes(24).toString('base64url')): SaslStep {
  if (options.mechanism === 'plain') {
    return { send: Buffer.from(`\0${options.username}\0${options.password}`), receive: () => undefined }
  }
  return scram(options.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512', options.username, options.password, nonce)
}

/** The Kafka mechanism name for the SaslHandshake request. */
export function mechanismName(options: SaslOptions): string {
  return options.mechanism.toUpperCase()
}

/** SCRAM (RFC 5802) without channel binding, as Kafka's ScramSaslClient does it. */
function scram(hash: 'sha256' | 'sha512', username: string, password: string, nonce: string): SaslStep {
  const clientFirstBare = `n=${saslName(username)},r=${nonce}`
  return {
    send: Buffer.from(`n,,${clientFirstBare}`),
    receive(serverFirstBytes) {
      const serverFirst = serverFirstBytes.toString('utf8')
      const fields = attributes(serverFirst)
      const serverNonce = fields.get('r')
      const salt = fields.get('s')
      const iterations = Number(fields.get('i'))
      if (serverNonce === undefined || !serverNonce.startsWith(nonce) || salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
        throw new SaslProtocolError(`unexpected SCRAM server-first message (${fields.has('e') ? `error ${fields.get('e')}` : 'malformed'})`)
      }
      const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, hash === 'sha256' ? 32 : 64, hash)
      const clientKey = hmac(hash, salted, 'Client Key')
      const storedKey = createHash(hash).update(clientKey).digest()
      const clientFinalWithoutProof = `c=biws,r=${serverNonce}`
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`
      const signature = hmac(hash, storedKey, authMessage)
      const proof = Buffer.alloc(clientKey.length)
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!
      const expectedServerSignature = hmac(hash, hmac(hash, salted, 'Server Key'), authMessage)
      return {
        send: Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`),
        receive(serverFinalBytes) {
          const final = attributes(serverFinalBytes.toString('utf8'))
          const verifier = final.get('v')
          if (verifier === undefined) throw new SaslProtocolError(`SCRAM server-final message has no verifier${final.has('e') ? ` (error ${final.get('e')})` : ''}`)
          const received = Buffer.from(verifier, 'base64')
          if (received.length !== expectedServerSignature.length || !timingSafeEqual(received, expectedServerSignature)) {
            throw new SaslProtocolError('the server did not prove it knows the SCRAM credentials')
          }
          return undefined
        },
      }
    },
  }
}

function hmac(hash: string, key: Buffer, text: string): Buffer {
  return createHmac(hash, key).update(text).digest()
}

function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C')
}

function attributes(message: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const part of message.split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1))
  }
  return fields
}
