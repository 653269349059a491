-- AlterTable
ALTER TABLE "UserSettings" ADD COLUMN     "fieldRevs" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "fieldRevsFloor" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "SyncMutation" (
    "userId" UUID NOT NULL,
    "mutationId" TEXT NOT NULL,
    "result" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SyncMutation_pkey" PRIMARY KEY ("userId","mutationId")
);

-- CreateIndex
CREATE INDEX "SyncMutation_createdAt_idx" ON "SyncMutation"("createdAt");

-- AddForeignKey
ALTER TABLE "SyncMutation" ADD CONSTRAINT "SyncMutation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Settings written before fieldRevs existed: their paths' revisions are unknown, so a baseRev older than
-- the row conflicts with any update, as it did before merge patches.
UPDATE "UserSettings" SET "fieldRevsFloor" = "rev";
