/**
 * What a stand-in records, as it records it: listeners subscribe and are called with each
 * new record, so a page can show a message the moment a flow delivers it instead of
 * polling the stand-in's list.
 */
export class RecordFeed<T> {
  private readonly listeners = new Set<(record: T) => void>();

  /** Calls `listener` with every record from now on; the returned function stops that. */
  subscribe(listener: (record: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(record: T): void {
    // A listener that fails must not break the stand-in's answer to the flow.
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }
}
