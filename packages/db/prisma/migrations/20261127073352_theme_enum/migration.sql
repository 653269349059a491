-- CreateEnum
CREATE TYPE "Theme" AS ENUM ('light', 'dark', 'system');

-- AlterTable: converted in place, so every user keeps their theme (the generated DROP/ADD would reset it).
-- The API only ever stored these three values, anything else becomes the default.
-- (No semicolon in these comments: the PostgreSQL connector splits the script on every one.)
ALTER TABLE "UserSettings" ALTER COLUMN "theme" DROP DEFAULT,
ALTER COLUMN "theme" TYPE "Theme" USING (
  CASE WHEN "theme" IN ('light', 'dark', 'system') THEN "theme" ELSE 'light' END
)::"Theme",
ALTER COLUMN "theme" SET DEFAULT 'light';
