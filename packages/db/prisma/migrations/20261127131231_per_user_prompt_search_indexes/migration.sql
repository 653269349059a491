-- GIN operator classes for plain columns: the user id beside the trigrams, so a search reads only that users rows
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- DropIndex
DROP INDEX "PromptGroup_originalPrompt_idx";

-- DropIndex
DROP INDEX "PromptVersion_optimizedPrompt_idx";

-- CreateIndex
CREATE INDEX "PromptGroup_userId_originalPrompt_idx" ON "PromptGroup" USING GIN ("userId" uuid_ops, "originalPrompt" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "PromptVersion_userId_optimizedPrompt_idx" ON "PromptVersion" USING GIN ("userId" uuid_ops, "optimizedPrompt" gin_trgm_ops);
