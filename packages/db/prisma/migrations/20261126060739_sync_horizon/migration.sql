-- AlterTable
ALTER TABLE "User" ADD COLUMN     "syncHorizon" INTEGER NOT NULL DEFAULT 0;
