import { describe, expect, it } from 'vitest'
import { saslConversation } from './sasl.js'

describe('saslConversation', () => {
  it('SCRAM-SHA-256 follows the RFC 7677 example exchange byte for byte, and checks the server signature', () => {
    const first = saslConversation({ mechanism: 'scram-sha-256', username: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO')
    expect(first.send.toString()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
    const final = first.receive(Buffer.from(serverFirst))!
    expect(final.send.toString()).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')
    expect(final.receive(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).toBeUndefined()
  })

  it('refuses a server that does not prove it knows the credentials, or changes the nonce', () => {
    const first = saslConversation({ mechanism: 'scram-sha-256', username: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO')
    const final = first.receive(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))!
    expect(() => final.receive(Buffer.from('v=AAAATRBi23WpRR/wl+fL4mJh1YsFRmfaYEEa4Kh/7Pc='))).toThrow(/did not prove/)
    const again = saslConversation({ mechanism: 'scram-sha-512', username: 'user', password: 'pencil' }, 'abc')
    expect(() => again.receive(Buffer.from('r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))).toThrow(/server-first/)
  })

  it('PLAIN sends authzid, user and password separated by NUL in one step', () => {
    const step = saslConversation({ mechanism: 'plain', username: 'alice', password: 's3cret' })
    expect(step.send).toEqual(Buffer.from('\0alice\0s3cret'))
    expect(step.receive(Buffer.alloc(0))).toBeUndefined()
  })
})
