// The prompt-history service, split by verb: reads in read.ts, writes in write.ts.
export { getPrompt, getVersion, listPrompts, listVersions } from "./read.ts";
export { addVersion, createPrompt, deletePrompt, updateVersion } from "./write.ts";
