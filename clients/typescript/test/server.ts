// Starts a real `nexus serve` for a test: SQLite in a temporary folder, emails written to an
// outbox there, a free port chosen by the server (NEXUS_BIND=127.0.0.1:0).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * The server binary: NEXUS_BIN, else the debug build in CARGO_TARGET_DIR, in
 * ~/.cache/nexus-ci-target (where .ci/run builds) or in the repository's target/.
 */
export function findNexus(): string | undefined {
  if (process.env.NEXUS_BIN) {
    return process.env.NEXUS_BIN;
  }
  const dirs = [
    process.env.CARGO_TARGET_DIR,
    join(homedir(), ".cache", "nexus-ci-target"),
    join(REPO, "target"),
  ];
  return dirs
    .filter((d): d is string => d !== undefined && d !== "")
    .map((d) => join(d, "debug", "nexus"))
    .find((bin) => existsSync(bin));
}

export interface Server {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The emails sent so far, oldest first. */
  emails(): Promise<Email[]>;
  /** Waits (up to 20 s) for an email to `to` of `template`, and returns it. */
  waitForEmail(to: string, template: string): Promise<Email>;
  stop(): Promise<void>;
}

export interface Email {
  template: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export async function startNexus(bin: string): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), "nexus-ts-client-"));
  const outbox = join(dir, "outbox");
  // None of the caller's NEXUS_* settings (a Resend key, a database URL) reach the server.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("NEXUS_")),
  );
  Object.assign(env, {
    NEXUS_BIND: "127.0.0.1:0",
    NEXUS_DATA_DIR: join(dir, "data"),
    NEXUS_EMAIL_OUTBOX: outbox,
    NEXUS_LOG: "warn",
  });
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let url: string;
  try {
    url = await new Promise<string>((ok, fail) => {
      let stdout = "";
      const timer = setTimeout(() => fail(new Error(`nexus did not start in 30 s:\n${stderr}`)), 30_000);
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const m = /nexus: listening on (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      child.on("error", (e) => {
        clearTimeout(timer);
        fail(e);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`nexus exited (${code}) before listening:\n${stderr}`));
      });
    });
  } catch (e) {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  async function emails(): Promise<Email[]> {
    let names: string[];
    try {
      names = await readdir(outbox);
    } catch {
      return [];
    }
    // `<time>-<pid>-<n>.json`, written under a dot-name and renamed: never half a file.
    const files = names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort();
    return Promise.all(files.map(async (n) => JSON.parse(await readFile(join(outbox, n), "utf8")) as Email));
  }

  return {
    url,
    emails,
    async waitForEmail(to, template) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const found = (await emails()).find((e) => e.to === to && e.template === template);
        if (found) {
          return found;
        }
        if (Date.now() > deadline) {
          throw new Error(`no ${template} email to ${to} in 20 s:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
