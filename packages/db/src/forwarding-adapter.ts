// Inside the schema engine's worker: a driver adapter that runs nothing itself. Every call goes over the
// worker's port to the real adapter on the main thread (adapter-host.ts), and its result or error comes back.
import type {
  ConnectionInfo,
  IsolationLevel,
  Provider,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
  TransactionOptions,
} from "@prisma/driver-adapter-utils";

import { factoryHandle, fromWire, type AdapterOpened, type TransactionOpened } from "./schema-engine-wire.ts";

/** The way to the main thread's adapter, and what that adapter said it is. */
export interface AdapterLink {
  /** Sends one call; rejects with the error the real adapter threw, rebuilt. */
  call(handle: number, method: string, args: unknown[]): Promise<unknown>;
  provider: Provider;
  adapterName: string;
}

class ForwardingQueryable {
  readonly provider: Provider;
  readonly adapterName: string;

  constructor(
    protected readonly link: AdapterLink,
    protected readonly handle: number,
  ) {
    this.provider = link.provider;
    this.adapterName = link.adapterName;
  }

  protected call(method: string, args: unknown[]): Promise<unknown> {
    return this.link.call(this.handle, method, args);
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return (await this.call("queryRaw", [query])) as SqlResultSet;
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    return (await this.call("executeRaw", [query])) as number;
  }
}

class ForwardingTransaction extends ForwardingQueryable implements Transaction {
  readonly options: TransactionOptions;
  // The engine checks for the savepoint methods before it uses them: offer them only when the real one has them.
  declare createSavepoint?: (name: string) => Promise<void>;
  declare rollbackToSavepoint?: (name: string) => Promise<void>;
  declare releaseSavepoint?: (name: string) => Promise<void>;

  constructor(link: AdapterLink, opened: TransactionOpened) {
    super(link, opened.handle);
    this.options = opened.options;
    if (opened.savepoints) {
      this.createSavepoint = (name) => this.forward("createSavepoint", name);
      this.rollbackToSavepoint = (name) => this.forward("rollbackToSavepoint", name);
      this.releaseSavepoint = (name) => this.forward("releaseSavepoint", name);
    }
  }

  commit(): Promise<void> {
    return this.forward("commit");
  }

  rollback(): Promise<void> {
    return this.forward("rollback");
  }

  private async forward(method: string, ...args: unknown[]): Promise<void> {
    await this.call(method, args);
  }
}

class ForwardingAdapter extends ForwardingQueryable implements SqlDriverAdapter {
  declare getConnectionInfo?: () => ConnectionInfo;

  constructor(link: AdapterLink, opened: AdapterOpened) {
    super(link, opened.handle);
    const info = opened.connectionInfo;
    if (info) {
      this.getConnectionInfo = () => {
        if (info.ok) return info.value;
        throw fromWire(info.error);
      };
    }
  }

  async executeScript(script: string): Promise<void> {
    await this.call("executeScript", [script]);
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const opened = (await this.call("startTransaction", [isolationLevel])) as TransactionOpened;
    return new ForwardingTransaction(this.link, opened);
  }

  async dispose(): Promise<void> {
    await this.call("dispose", []);
  }
}

export class ForwardingAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider: Provider;
  readonly adapterName: string;

  constructor(private readonly link: AdapterLink) {
    this.provider = link.provider;
    this.adapterName = link.adapterName;
  }

  async connect(): Promise<SqlDriverAdapter> {
    return new ForwardingAdapter(this.link, (await this.link.call(factoryHandle, "connect", [])) as AdapterOpened);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const opened = (await this.link.call(factoryHandle, "connectToShadowDb", [])) as AdapterOpened;
    return new ForwardingAdapter(this.link, opened);
  }
}
