// Group commit for statements that would otherwise each pay a round trip, a transaction and a WAL flush of their own
// (issue 5: most of a small PUT's PostgreSQL CPU). Nothing waits on a timer: an item goes out at once when fewer than
// `maxInFlight` batches are being committed, and otherwise joins the next batch, which leaves as soon as one of them
// returns. A lone client sees no added latency; sixteen concurrent ones share commits.

export interface BatcherOptions {
  /** Batches being committed at once (each holds one connection). */
  maxInFlight: number;
  /** Items in one batch at most. */
  maxBatch: number;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export class Batcher<Item, Result> {
  private readonly waiting: Waiting<Item, Result>[] = [];
  private inFlight = 0;

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
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.commitBatch(batch).finally(() => {
        this.inFlight--;
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
