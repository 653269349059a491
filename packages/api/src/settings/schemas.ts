import { z } from "zod";

import { zJsonObject } from "../lib/json.ts";
import { blankSecrets } from "./secrets.ts";
import { zBaseRev, zDateOut, zId, zJsonObjectOut } from "../lib/schemas.ts";

export const THEMES = ["light", "dark", "system"] as const;
export const zTheme = z.enum(THEMES);

/** A BCP 47 language tag, stored in canonical case (`en-us` → `en-US`). */
export const zLanguage = z
  .string()
  .trim()
  .min(2)
  .max(35)
  .transform((tag, ctx) => {
    try {
      const [canonical] = Intl.getCanonicalLocales(tag);
      if (canonical) return canonical;
    } catch {
      // fall through to the issue below
    }
    ctx.addIssue({ code: "custom", message: "must be a BCP 47 language tag such as en, en-US or zh-CN" });
    return z.NEVER;
  });

export const SETTINGS_DATA_MAX_BYTES = 64 * 1024;
export const SETTINGS_DATA_MAX_DEPTH = 10;

/**
 * Free-form app settings (the app's `model-settings` and friends) as stored: a JSON object of at most
 * 64 KB and 10 levels. What an update sends is a merge patch of it, and the merged result must fit too.
 */
export const zSettingsDocument = zJsonObject({
  maxBytes: SETTINGS_DATA_MAX_BYTES,
  maxDepth: SETTINGS_DATA_MAX_DEPTH,
});

/**
 * `settingsData` as sent: an RFC 7396 JSON merge patch of the stored object (settings/merge-patch.ts). A
 * provider API key would sit in the database in plain text, readable by anyone with a backup, so a
 * non-empty one is refused, naming where (`null` and `""` are fine: they delete or blank it).
 */
export const zSettingsData = zSettingsDocument.superRefine((value, ctx) => {
  for (const path of blankSecrets(value).found) {
    ctx.addIssue({
      code: "custom",
      path,
      message:
        "provider API keys are not stored on the server: they would be kept in plain text. Keep the key on the device and send this field empty or leave it out",
    });
  }
});

export const zGetSettingsInput = z.void();

/**
 * A partial update: the columns present are set; `settingsData` is merged into the stored object (keys
 * present are set, objects merge recursively, `null` deletes, arrays are replaced whole, absent keys stay).
 * With `baseRev` (the settings' `rev` the device last saw) it conflicts only if a path it touches — a
 * column, or a leaf of the patch such as `/settingsData/model-settings/state/activeModel` — changed since.
 */
export const zUpdateSettingsInput = z
  .object({
    theme: zTheme.optional(),
    language: zLanguage.optional(),
    defaultModel: z.string().trim().max(200).nullable().optional(),
    settingsData: zSettingsData
      .describe(
        "An RFC 7396 JSON merge patch of the stored settingsData: keys present are set (objects merge recursively), null deletes, arrays are replaced whole, absent keys are kept",
      )
      .optional(),
    baseRev: zBaseRev.optional(),
  })
  .strict();
export type UpdateSettingsInput = z.infer<typeof zUpdateSettingsInput>;

export const zSettings = z.object({
  id: zId,
  theme: zTheme,
  language: z.string(),
  defaultModel: z.string().nullable(),
  settingsData: zJsonObjectOut,
  rev: z.number().int(),
  createdAt: zDateOut,
  updatedAt: zDateOut,
});
export type Settings = z.infer<typeof zSettings>;
