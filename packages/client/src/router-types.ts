// The router's types as the client sees them. Type-only: erased from the build, so no server code comes with
// them. In the published declarations "@prompt-booster/api" is replaced by plain declarations generated from
// the router (scripts/router-dts.mjs), so they import nothing from this repository.
import type { RouterInputs, RouterOutputs } from "@prompt-booster/api";

export type { AppRouter, RouterInputs, RouterOutputs } from "@prompt-booster/api";

// The rows the API answers with, by name.
export type User = RouterOutputs["auth"]["me"]["user"];
export type AuthResult = RouterOutputs["auth"]["login"];
export type Session = RouterOutputs["auth"]["sessions"]["list"][number];
export type Settings = RouterOutputs["settings"]["get"];
export type Template = RouterOutputs["templates"]["get"];
export type TemplatePage = RouterOutputs["templates"]["list"];
export type PromptGroup = RouterOutputs["prompts"]["get"];
export type PromptPage = RouterOutputs["prompts"]["list"];
export type PromptVersion = PromptGroup["versions"][number];
export type ImportInput = RouterInputs["import"]["localData"];
/** Which sign-in and mail features the server has on (`auth.providers`): hide the flows it cannot serve. */
export type AuthProviders = RouterOutputs["auth"]["providers"];
export type RequestPasswordResetInput = RouterInputs["auth"]["requestPasswordReset"];
export type ResetPasswordInput = RouterInputs["auth"]["resetPassword"];
export type VerifyEmailResult = RouterOutputs["auth"]["verifyEmail"];
export type ChangeEmailInput = RouterInputs["auth"]["changeEmail"];
export type ImportResult = RouterOutputs["import"]["localData"];
