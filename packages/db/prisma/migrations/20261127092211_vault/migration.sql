-- CreateTable
CREATE TABLE "VaultKey" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "kdf" TEXT NOT NULL,
    "kdfIterations" INTEGER NOT NULL,
    "kdfSalt" TEXT NOT NULL,
    "wrappedKey" TEXT,
    "wrapIv" TEXT,
    "verifier" TEXT,
    "keyVersion" INTEGER NOT NULL,
    "rev" INTEGER NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "VaultKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VaultEntry" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "ciphertext" TEXT,
    "iv" TEXT,
    "version" INTEGER NOT NULL,
    "rev" INTEGER NOT NULL,
    "deletedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "VaultEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "VaultKey_userId_key" ON "VaultKey"("userId");

-- CreateIndex
CREATE INDEX "VaultKey_userId_rev_idx" ON "VaultKey"("userId", "rev");

-- CreateIndex
CREATE INDEX "VaultEntry_userId_rev_idx" ON "VaultEntry"("userId", "rev");

-- CreateIndex
CREATE UNIQUE INDEX "VaultEntry_userId_provider_key" ON "VaultEntry"("userId", "provider");

-- AddForeignKey
ALTER TABLE "VaultKey" ADD CONSTRAINT "VaultKey_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VaultEntry" ADD CONSTRAINT "VaultEntry_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
