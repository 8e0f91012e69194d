import type { Channel, Frame } from '../../realtime';
import type { Identity } from '../identity';
import type { Store } from '../store';
import type { Connection } from './connection';
import type { PresenceEditor, TabState } from './state';

/**
 * Presence: tells the server which workflow this window has open (and under
 * which readable name), and keeps the list of the project's other editors
 * in `editors`, from the `presence:<projectId>` channel. The server drops an
 * entry when its connection closes, so the list needs no timeouts here; after
 * a reconnect the announcement is sent again.
 */
export class Presence {
  private ch: Channel;
  private offs: (() => void)[] = [];
  private sent = '';

  constructor(
    private tab: Store<TabState>,
    projectId: string,
    private conn: Connection,
    private identity: Identity,
  ) {
    this.ch = conn.socket.channel(`presence:${projectId}`);
    this.offs.push(
      this.ch.on('presence', (f) => this.onList(f)),
      this.ch.onSnapshot((snap) => this.onList({ event: 'presence', payload: snap })),
      identity.onChange(() => this.announce(true)),
    );
    this.ch.subscribe().catch(() => undefined);
    let last = tab.get();
    this.offs.push(
      tab.subscribe(() => {
        const s = tab.get();
        const reconnected = s.conn === 'open' && last.conn !== 'open';
        const moved = s.workflowId !== last.workflowId || !!s.version !== !!last.version;
        last = s;
        if (reconnected) this.sent = '';
        if (reconnected || moved) this.announce();
      }),
    );
    this.announce();
  }

  /** The readable name of a connection (the `by` of a save), or "" when it is not (any more) here. */
  nameOf(connectionId: string | undefined): string {
    if (!connectionId) return '';
    return this.tab.get().editors.find((e) => e.connectionId === connectionId)?.name ?? '';
  }

  /** This window's own connection id (to leave it out of "Also open in"). */
  get me(): string {
    return this.conn.socket.connectionId;
  }

  private announce(force = false): void {
    const s = this.tab.get();
    if (!this.conn.socket.isOpen()) return;
    const payload = { workflowId: s.version ? s.workflowId : '', name: this.identity.name, client: this.identity.client };
    const key = JSON.stringify(payload);
    if (!force && key === this.sent) return;
    this.sent = key;
    this.conn.socket.request('presence.set', payload).catch(() => {
      this.sent = ''; // an older server without presence, or a drop: try again next time
    });
  }

  private onList(f: Frame): void {
    const list = (f.payload as { editors?: PresenceEditor[] } | null)?.editors;
    if (Array.isArray(list)) this.tab.set({ editors: list.filter((e) => e && typeof e.connectionId === 'string' && typeof e.name === 'string') });
  }

  dispose(): void {
    for (const off of this.offs) off();
  }
}
