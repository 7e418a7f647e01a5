export { MemoryTransport, type MemoryTransportOptions } from './memoryTransport.js'
export { VirtualScheduler } from './virtualScheduler.js'
