// Group commit for statements that would otherwise each pay a round trip, a transaction and a WAL flush of their own
// (most of a small PUT's PostgreSQL CPU, docs/performance.md). An item goes out at once when fewer than `maxInFlight` batches are
// being committed, and otherwise joins the next batch. A lone client sees no added latency; sixteen concurrent ones
// share commits.
//
// The next batch may wait, briefly, for the clients of the last one. When a batch of n items returns, its n clients
// each send their next item a moment later; leaving at once would carry only whatever straggler came in meanwhile, and
// then the n would wait out that commit: batches alternated between ~10 items and one, and half the commits carried a
// single PUT. So after a batch of n returns, the next leaves when n items wait, or after `gatherMs`,
// whichever comes first (PostgreSQL's commit_delay does the same for its own WAL flushes). A batch of one waits for
// nobody.

export interface BatcherOptions {
  /** Batches being committed at once (each holds one connection). */
  maxInFlight: number;
  /** Items in one batch at most. */
  maxBatch: number;
  /** How long the next batch waits, at most, for as many items as the batch that just returned carried. */
  gatherMs: number;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export class Batcher<Item, Result> {
  private readonly waiting: Waiting<Item, Result>[] = [];
  private inFlight = 0;
  /** Items the next batch waits for: the size of the batch that returned last, until `gatherMs` passes. */
  private expected = 0;
  private gatherTimer: NodeJS.Timeout | undefined;

  /**
   * `commit` stores a batch in one statement and returns each item's own outcome, a result or an error, in item
   * order. When it throws instead, no item was stored (the statement is one transaction): each is then retried
   * alone, so that an item that breaks a batch fails alone and the others are stored.
   */
  constructor(
    private readonly commit: (items: Item[]) => Promise<(Result | Error)[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      if (this.waiting.length < this.expected) {
        this.gatherTimer ??= setTimeout(() => {
          this.gatherTimer = undefined;
          this.expected = 0;
          this.dispatch();
        }, this.options.gatherMs);
        return;
      }
      clearTimeout(this.gatherTimer);
      this.gatherTimer = undefined;
      this.expected = 0;
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.commitBatch(batch).finally(() => {
        this.inFlight--;
        this.expected = batch.length;
        this.dispatch();
      });
    }
  }

  private async commitBatch(batch: Waiting<Item, Result>[]): Promise<void> {
    let outcomes: (Result | Error)[];
    try {
      outcomes = await this.commit(batch.map((waiting) => waiting.item));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(batch.map((waiting) => this.commitBatch([waiting])));
      return;
    }
    batch.forEach((waiting, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) waiting.reject(new Error(`a batch of ${batch.length} returned no outcome for item ${index + 1}`));
      else if (outcome instanceof Error) waiting.reject(outcome);
      else waiting.resolve(outcome);
    });
  }
}
