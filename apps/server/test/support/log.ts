// The server's JSON log lines as a test sees them: pass `stream` as the server's logStream, read `lines`.
import { Writable } from "node:stream";

export function captureJsonLog<Line = Record<string, unknown>>(): { lines: Line[]; stream: Writable } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split("\n")) if (text.trim()) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, stream };
}
