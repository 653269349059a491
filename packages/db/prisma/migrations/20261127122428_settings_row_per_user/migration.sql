-- Every user has a settings row, so settings.get only reads (registration creates the row from now on).
-- A user without a live row gets one with the defaults at a revision of their own, taken here as a write
-- would take it: devices whose sync cursor is older pull the row once, exactly as they did when the first
-- settings.get created it, and a baseRev a device holds is never above the row's rev. A deleted (tombstoned)
-- row is revived with the defaults the same way. The row's id is the user's, the id settings.get answers for a
-- missing row.
WITH "needing" AS (
  UPDATE "User" u SET "revision" = u."revision" + 1
   WHERE NOT EXISTS (SELECT 1 FROM "UserSettings" s WHERE s."userId" = u."id" AND s."deletedAt" IS NULL)
  RETURNING u."id", u."revision"
)
INSERT INTO "UserSettings" ("id", "userId", "rev", "updatedAt")
SELECT "id", "id", "revision", CURRENT_TIMESTAMP FROM "needing"
ON CONFLICT ("userId") DO UPDATE SET
  "theme" = 'light', "language" = 'en', "defaultModel" = NULL, "settingsData" = '{}', "fieldRevs" = '{}',
  "fieldRevsFloor" = 0, "deletedAt" = NULL, "rev" = EXCLUDED."rev", "updatedAt" = EXCLUDED."updatedAt";
