-- Trigram operators for the text-search indexes below (a trusted extension: the database owner may create it)
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "PromptGroup_originalPrompt_idx" ON "PromptGroup" USING GIN ("originalPrompt" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "PromptVersion_optimizedPrompt_idx" ON "PromptVersion" USING GIN ("optimizedPrompt" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Template_name_idx" ON "Template" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Template_description_idx" ON "Template" USING GIN ("description" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Template_content_idx" ON "Template" USING GIN ("content" gin_trgm_ops);
