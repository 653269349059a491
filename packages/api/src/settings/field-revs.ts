// Per-path revisions of the settings (UserSettings.fieldRevs / fieldRevsFloor, see schema.prisma): an
// update based on an old revision conflicts only when something it touches changed after that revision.
import { isPlainObject } from "../lib/input-guard.ts";
import { enclosingPointers } from "./merge-patch.ts";

/** At most this many paths are remembered; older ones are forgotten by raising the floor. */
export const MAX_FIELD_REVS = 1_000;

export interface FieldRevs {
  /** JSON Pointer → the revision that last changed it; every revision here is above `floor`. */
  revs: Record<string, number>;
  /** Changes at or below this revision are not in `revs`. */
  floor: number;
}

/** The stored column, read defensively: anything but a pointer → integer pair is ignored. */
export function readFieldRevs(json: unknown, floor: number): FieldRevs {
  const revs: Record<string, number> = {};
  if (isPlainObject(json)) {
    for (const [path, rev] of Object.entries(json)) {
      if (Number.isInteger(rev) && (rev as number) > floor) revs[path] = rev as number;
    }
  }
  return { revs, floor };
}

/**
 * Whether an update based on `baseRev` that touches `touched` must be refused: its base is older than
 * what is remembered, or a path overlapping one it touches (the same, inside or around it) changed since.
 */
export function conflictsWith(fieldRevs: FieldRevs, baseRev: number, touched: readonly string[]): boolean {
  if (baseRev < fieldRevs.floor) return true;
  // Each changed path and everything around it: a touched path among them overlaps a change.
  const changedOrAround = new Set<string>();
  for (const [path, rev] of Object.entries(fieldRevs.revs)) {
    if (rev <= baseRev) continue;
    changedOrAround.add(path);
    for (const outer of enclosingPointers(path)) changedOrAround.add(outer);
  }
  const changedSince = (pointer: string) => (fieldRevs.revs[pointer] ?? 0) > baseRev;
  return touched.some((pointer) => changedOrAround.has(pointer) || enclosingPointers(pointer).some(changedSince));
}

/**
 * `changed` recorded at `rev`: what lies inside a changed path is forgotten (the change covers it), and
 * beyond MAX_FIELD_REVS paths the oldest go, the floor rising to the newest revision forgotten.
 */
export function recordChanges(
  fieldRevs: FieldRevs,
  changed: readonly string[],
  rev: number,
  max = MAX_FIELD_REVS,
): FieldRevs {
  const covered = new Set(changed);
  const kept = Object.entries(fieldRevs.revs).filter(
    ([path]) => !covered.has(path) && !enclosingPointers(path).some((outer) => covered.has(outer)),
  );
  const entries = [...kept, ...changed.map((pointer): [string, number] => [pointer, rev])];
  let floor = fieldRevs.floor;
  if (entries.length > max) {
    entries.sort((a, b) => a[1] - b[1]);
    floor = Math.max(floor, ...entries.slice(0, entries.length - max).map(([, dropped]) => dropped));
  }
  // Paths at or below the floor say nothing the floor does not: a base below it conflicts anyway.
  return { revs: Object.fromEntries(entries.filter(([, pathRev]) => pathRev > floor)), floor };
}
