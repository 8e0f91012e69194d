export * from './protocol';
export { Backoff } from './backoff';
export type { BackoffOptions } from './backoff';
export { Channel } from './channel';
export type { ChannelState, ChannelTransport, SnapshotInfo } from './channel';
export { ProjectSocket } from './socket';
export type { SocketOptions, SocketState, FatalInfo } from './socket';
export { LazyConnections } from './lazy';
