// Server CPU per request of one read or write over tRPC and over REST, one request at a time, in this process (the
// server built from source on a fresh PostgreSQL database, the requests over loopback HTTP). One connection
// and no concurrency make the figure steadier than the load bench's on a busy machine; the client's own cost
// is in both columns alike, so the difference between two paths is the server's.
//   TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test npx tsx bench/path-cost.ts [requests]
import http from "node:http";

import { signUp } from "../test/support/auth.ts";
import { startTestServer } from "../test/support/server.ts";

const requests = Number(process.argv[2] ?? 2_000);
const test = await startTestServer();
try {
  const { token } = await signUp(test.url);
  const headers = { authorization: `Bearer ${token}` };
  // The seed: a refused write stops here (it once left the measured lists empty without a word).
  const post = async (path: string, body: unknown) => {
    const response = await fetch(test.url + path, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const version = { optimizedPrompt: "Once more", modelId: "m", provider: "openai", modelName: "M" };
  let groupId = "";
  for (let i = 0; i < 40; i++) {
    const group = await post("/api/prompts", {
      originalPrompt: `Prompt ${i} translate this`,
      firstVersion: { optimizedPrompt: `Better ${i}`, modelId: "m", provider: "openai", modelName: "M" },
    });
    groupId = group.id;
    await post(`/api/prompts/${group.id}/versions`, { ...version, optimizedPrompt: `Again ${i}` });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  // A read is a GET of its path; a write ("POST <path> <json body>") a POST of its body.
  const send = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const write = /^POST (\S+) (.*)$/s.exec(path);
      const [method, target, body] = write ? ["POST", write[1]!, write[2]!] : ["GET", path, undefined];
      const request = http.request(
        test.url + target,
        { method, agent, headers: body ? { ...headers, "content-type": "application/json" } : headers },
        (response) => {
          if (response.statusCode !== 200) {
            response
              .setEncoding("utf8")
              .on("data", (text) => reject(new Error(`${target}: ${response.statusCode} ${text}`)));
            return;
          }
          response.resume();
          response.on("end", resolve);
        },
      );
      request.on("error", reject).end(body);
    });
  const q = (procedure: string, input?: unknown) =>
    `/trpc/${procedure}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`}`;
  const paths: [string, string][] = [
    ["settings.get", q("settings.get")],
    ["GET /api/settings", "/api/settings"],
    ["prompts.list", q("prompts.list", { limit: 20 })],
    ["GET /api/prompts", "/api/prompts?limit=20"],
    ["prompts.list q", q("prompts.list", { limit: 20, q: "translate" })],
    ["templates.list", q("templates.list", { scope: "public", limit: 20 })],
    ["sync.pull", q("sync.pull", { since: 0 })],
    ["prompts.addVersion", `POST /trpc/prompts.addVersion ${JSON.stringify({ json: { groupId, ...version } })}`],
    ["POST /api/prompts/{id}/versions", `POST /api/prompts/${groupId}/versions ${JSON.stringify(version)}`],
  ];
  const only = process.env.PATHS?.split(",");
  const chosen = paths.filter(([name]) => !only || only.includes(name));
  for (const [, path] of chosen) for (let i = 0; i < 300; i++) await send(path);
  // Rounds interleave the paths, so that a burst of other work on the machine falls on all of them alike;
  // the median round is reported.
  const rounds = 7;
  const perRound = Math.ceil(requests / rounds);
  const samples = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, path] of chosen) {
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await send(path);
      const used = process.cpuUsage(start);
      samples.get(name)!.push((used.user + used.system) / 1_000 / perRound);
    }
  }
  for (const [name, values] of samples) {
    const sorted = values.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(20)} ${sorted[Math.floor(rounds / 2)]!.toFixed(3)} ms CPU/req (median of ${rounds} rounds; ${sorted[0]!.toFixed(3)}–${sorted.at(-1)!.toFixed(3)})`,
    );
  }
  agent.destroy();
} finally {
  await test.close();
}
