// What can go wrong when a vault is opened or read, told apart so the app can say the right thing: a wrong
// passphrase (ask again) is not tampered data (stop, and say which entry), nor a vault that must be reopened.

/** Every vault failure that is not a transport error of the API. */
export class VaultError extends Error {
  override name = "VaultError";
}

/** The passphrase is not this vault's: nothing was decrypted. Ask the user again. */
export class VaultPassphraseError extends VaultError {
  override name = "VaultPassphraseError";

  constructor(message = "Wrong passphrase: it does not unlock this vault") {
    super(message);
  }
}

/**
 * A ciphertext did not authenticate: it was changed, moved from another entry, user or version, or given
 * another IV. `subject` names what failed: "vault key", or the entry (provider and id).
 */
export class VaultIntegrityError extends VaultError {
  override name = "VaultIntegrityError";

  constructor(
    readonly subject: string,
    reason = "it was changed, or moved from another entry, user or version",
    readonly provider?: string,
    readonly entryId?: string,
  ) {
    super(`The vault's data failed its integrity check (${subject}): ${reason}. It was not decrypted.`);
  }
}

/** An older version than this device has already seen came back: a rollback by whoever served it. */
export class VaultRollbackError extends VaultIntegrityError {
  override name = "VaultRollbackError";

  constructor(subject: string, seen: number, served: number, provider?: string, entryId?: string) {
    super(
      subject,
      `version ${served} was served after this device saw version ${seen} (a rollback)`,
      provider,
      entryId,
    );
  }
}

/**
 * The open vault can no longer be used: it was locked here, reset, or its key changed on another device
 * (a passphrase change or a reset). Open it again with the current passphrase.
 */
export class VaultLockedError extends VaultError {
  override name = "VaultLockedError";
}
