// The built-in templates the app has shipped, by id: the SHA-256 of every content released under that id
// (every version of its default-templates.json). The app never stores them: it loads them into memory
// and sets createdAt/updatedAt to the load time, so only id and content tell a built-in from the user's own
// template. Add the hashes of a new release's contents when the app ships one.
export const BUILTIN_TEMPLATE_HASHES: Readonly<Record<string, readonly string[]>> = {
  "advanced-optimize": ["fdb78dc6853dfcbc13d81164f14637f80021101e42b405d8b8548291237a7fe9"],
  advanced_optimize: ["5db8150b5ac7fcd677408447931292e5e9bea21dd24296344c0336ce2acd332f"],
  "advanced_optimize-zh": ["fdb78dc6853dfcbc13d81164f14637f80021101e42b405d8b8548291237a7fe9"],
  analyze_quality: [
    "5800dd8d95c1ce53e3024a3bc2f0309368c24c0b09899a321be895b2a3fc9b9d",
    "6e2b88516f3848e8a64a2a4d1593ce8ad355ceea408ada30a5f82d94fbac9bb8",
    "9c2b746d89464b8a535c6e6d19a29fdb303b028da943e7bc0c5aaef64dd76eac",
  ],
  "analyze_quality-zh": [
    "219908a7e78249e8181224400a1065046d3c0de72e697ea58c50cf87f0d0380f",
    "4c8d0795f03fa2bc03f27b20c5f49ffde01c7bad1208c3c1d276800fd1ad8a11",
    "c30b7c7528ce17bac7840492608347d9f9236588fb123bb11184bbf625e482d4",
  ],
  "general-optimize": ["45b78f01cb6ce2c6441958ede166ad056681d07771039dc89d82bf793a8b76e4"],
  general_optimize: ["54342ccef68dd4e3ce6fd2a835d29f6d9bd258349db7b1534f4345e151990014"],
  "general_optimize-zh": ["45b78f01cb6ce2c6441958ede166ad056681d07771039dc89d82bf793a8b76e4"],
  iterate: [
    "1bfc15bed92eaf923140d67d4709a00f8b6ef4f427cc3d64277407369540879f",
    "33995f4a1ede678c6ae179643f5253d2c4850cf6091417ba2c041ed245475577",
    "b609c2dbd49c0bf19639c2b1a76ae5b86a307fbf50a1f12f8526fd83e3665e36",
    "dca1103cf45034a2a7fb2fd6f2a38173fb3d5265623f7d04d968116a7ba0fdbb",
  ],
  "iterate-zh": [
    "1bfc15bed92eaf923140d67d4709a00f8b6ef4f427cc3d64277407369540879f",
    "33995f4a1ede678c6ae179643f5253d2c4850cf6091417ba2c041ed245475577",
  ],
  iterate2: ["33995f4a1ede678c6ae179643f5253d2c4850cf6091417ba2c041ed245475577"],
  optimize_analytical: ["101a74e07071285a69bf3211fbfa513d8e9dd08e1e3fab21790298a518517f30"],
  "optimize_analytical-zh": ["4085824eb4d4d84b3784583f96a16e0d1ef5692b1175a68430be4cc68227b188"],
  optimize_conversational: ["7149ac508300370eaf905bf9d81ac72f8b41d9cd55c3d72c688adabdddf6ce32"],
  "optimize_conversational-zh": ["e92730dd6ec188a9ff9d7e864610e0d99d718d7652ea1b00648b5eb00a8f68f9"],
  optimize_creative: ["f6c5d94438ce3bbf275360e0297b71946d5be3f7b20d485aa004d3c63b9a3d69"],
  "optimize_creative-zh": ["cd540f69e5786e7733d980abae44c10af110ba9384d134f4dcdf0b210c130f3f"],
  optimize_task: ["e0c931be2e1f01bf15ed316cbf894ded04818399157469f65cd94c8ed7236038"],
  "optimize_task-zh": ["f772008e06c5e812abcaadd4ce8f9a4cd585cd4c9234ddba3e4554dd464140e3"],
  "output-format-optimize": ["c2459596d94bcd0defe7e5704a7183792fbb39d855047abfcd703797768ad730"],
  output_format_optimize: ["fc61d1c30dd04845e042c896a3403f6818bdfba201a4ed8931c6204095b3ac8e"],
  "output_format_optimize-zh": ["c2459596d94bcd0defe7e5704a7183792fbb39d855047abfcd703797768ad730"],
  "structured-format": ["bdba65c767f551c44e8a1e5ce2278e028a4b9204db522e920a307f6336b7f088"],
  structured_format: ["d1fee8cf7d564f31e7a18fab44f441abdbd62740b78de4b3674d78b1c8f3ad40"],
  "structured_format-zh": ["bdba65c767f551c44e8a1e5ce2278e028a4b9204db522e920a307f6336b7f088"],
};
