import { protectedProcedure, router } from "../trpc.ts";
import {
  zDeleteVaultEntryInput,
  zPutVaultEntryInput,
  zResetVaultInput,
  zRewrapVaultInput,
  zSetupVaultInput,
  zVault,
  zVaultEntry,
  zVaultEntryDeleted,
  zVaultKey,
  zVaultResetOut,
} from "./schemas.ts";
import { deleteVaultEntry, getVault, putVaultEntry, resetVault, rewrapVault, setupVault } from "./service.ts";
import { z } from "zod";

// tRPC only: the vault is for the typed client, which does the cryptography (no REST paths).
export const vaultRouter = router({
  /** The key material and every entry (ciphertext only): a device unlocks and decrypts them itself. */
  get: protectedProcedure
    .input(z.void())
    .output(zVault)
    .query(({ ctx }) => getVault(ctx.deps, ctx.auth.user.id)),

  /** First use: CONFLICT with the existing key when the account has a vault already. */
  setup: protectedProcedure
    .input(zSetupVaultInput)
    .output(zVaultKey)
    .mutation(({ ctx, input }) => setupVault(ctx.deps, ctx.auth.user.id, input)),

  /** A passphrase change: the vault key wrapped anew, at the next keyVersion. */
  rewrap: protectedProcedure
    .input(zRewrapVaultInput)
    .output(zVaultKey)
    .mutation(({ ctx, input }) => rewrapVault(ctx.deps, ctx.auth.user.id, input)),

  putEntry: protectedProcedure
    .input(zPutVaultEntryInput)
    .output(zVaultEntry)
    .mutation(({ ctx, input }) => putVaultEntry(ctx.deps, ctx.auth.user.id, input)),

  deleteEntry: protectedProcedure
    .input(zDeleteVaultEntryInput)
    .output(zVaultEntryDeleted)
    .mutation(({ ctx, input }) => deleteVaultEntry(ctx.deps, ctx.auth.user.id, input)),

  /** Requires the account password; deletes the vault (a forgotten passphrase cannot be recovered). */
  reset: protectedProcedure
    .input(zResetVaultInput)
    .output(zVaultResetOut)
    .mutation(({ ctx, input }) =>
      resetVault({ ...ctx.deps, limits: ctx.rateLimits }, ctx.auth.user.id, input.password),
    ),
});
