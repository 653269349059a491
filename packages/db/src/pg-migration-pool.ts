import pg from "pg";

// PostgreSQL's one-byte "char" type (OID 18) appears in the catalog columns the schema engine reads
// (relkind, contype, …). The pg driver adapter has no mapping for it and refuses the whole result,
// though the value already arrives as a one-character string. Report such columns as text.
const CHAR_OID = 18;
const TEXT_OID = 25;

function relabelCharColumns<T>(result: T): T {
  for (const field of (result as { fields?: { dataTypeID: number }[] }).fields ?? []) {
    if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
}

type AnyQuery = (this: unknown, ...args: unknown[]) => unknown;

/** A pg client whose results report "char" columns as text; everything else passes through unchanged. */
class CatalogReadingClient extends pg.Client {
  // pg's overloads (text, config, submittable; promise or callback) cannot be restated one by one: this
  // override takes each form as it comes and relabels the result it yields, however it is delivered.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one signature for pg.Client's overload set
  override query(...args: unknown[]): any {
    // pg.Pool calls the callback form, a checked-out client the promise form.
    const last = args.at(-1);
    if (typeof last === "function") {
      const callback = last as (error: unknown, result: unknown) => void;
      args[args.length - 1] = (error: unknown, result: unknown) =>
        callback(error, result && relabelCharColumns(result));
    }
    const pending = (super.query as AnyQuery).apply(this, args);
    return pending instanceof Promise ? pending.then(relabelCharColumns) : pending;
  }
}

/** A small pool for the schema engine; the caller ends it. */
export function createMigrationPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ ...config, max: 2, Client: CatalogReadingClient });
  pool.on("error", () => {});
  return pool;
}
