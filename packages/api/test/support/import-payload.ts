// A generated PROMPT_STORE of a given size, in the app's own shape: big imports without a big fixture file.
import type { LegacyHistory } from "../../src/import/schemas.ts";

/** `groups` prompts with `versions` versions each; about 1 KB of text per version. */
export function generatedHistory(groups: number, versions = 3, tag = "gen"): LegacyHistory {
  const text = (length: number, seed: string) =>
    `${seed}: ${"Summarise the transcript and list every decision. ".repeat(Math.ceil(length / 50))}`.slice(0, length);
  const history: LegacyHistory = { groups: {}, versions: {} };
  for (let g = 0; g < groups; g++) {
    const id = `${tag}g${g}`;
    const createdAt = 1_760_000_000_000 + g * 60_000;
    history.groups[id] = {
      id,
      originalPrompt: text(150, id),
      currentVersionNumber: versions,
      status: "completed",
      createdAt,
      updatedAt: createdAt + versions,
    };
    history.versions[id] = Array.from({ length: versions }, (_, index) => ({
      id: `${id}v${index + 1}`,
      number: index + 1,
      groupId: id,
      originalPrompt: text(150, id),
      optimizedPrompt: text(700, `${id} v${index + 1}`),
      reasoning: text(100, id),
      modelId: "openai",
      provider: "OpenAI",
      modelName: "gpt-4o-mini",
      status: "completed",
      timestamp: createdAt + index + 1,
    }));
  }
  return history;
}
