// Provider API keys inside the app's settings (`model-settings` and friends). They never reach the server in
// plain text: the settings API refuses a non-empty one, import blanks them. One walk serves both.

/** Keys that hold a provider credential, in the spellings apps use. */
const SECRET_KEY = /^api[-_]?key$/i;

/**
 * `value` with every provider key set to "" (the app's `ModelConfig.apiKey` is a required string), and
 * the paths where a non-empty one was.
 */
export function blankSecrets(value: unknown): { value: unknown; found: (string | number)[][] } {
  const found: (string | number)[][] = [];
  const walk = (item: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(item)) return item.map((element, index) => walk(element, [...path, index]));
    if (typeof item !== "object" || item === null) return item;
    return Object.fromEntries(
      Object.entries(item).map(([key, child]) => {
        if (!SECRET_KEY.test(key)) return [key, walk(child, [...path, key])];
        if (child !== null && child !== "") found.push([...path, key]);
        return [key, ""];
      }),
    );
  };
  return { value: walk(value, []), found };
}
