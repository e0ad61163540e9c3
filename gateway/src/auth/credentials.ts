// Where secrets come from. The gateway only ever asks for the secret of one access key id.

export interface CredentialStore {
  secretFor(accessKeyId: string): Promise<string | undefined>;
}

/** A fixed set of access key id → secret pairs (configuration, tests). */
export class StaticCredentialStore implements CredentialStore {
  private readonly secrets: ReadonlyMap<string, string>;

  constructor(pairs: Record<string, string>) {
    this.secrets = new Map(Object.entries(pairs));
  }

  async secretFor(accessKeyId: string): Promise<string | undefined> {
    return this.secrets.get(accessKeyId);
  }
}
