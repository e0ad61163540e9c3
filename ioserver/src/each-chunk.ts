// Hands a stream's chunks to a function as they arrive, with the least work per chunk: an ioserver receives a large
// PUT body in ~32 KiB pieces, and an async iterator over it (or a generator on top) spends several promises and
// microtask turns on each, which made up about half an ioserver's CPU on a large PUT. 'data' events call the
// function straight from the HTTP parser; the stream is paused only while the function asks the caller to wait.
import type { Readable } from "node:stream";

/** What takes each chunk: returns a promise when no more should be handed over until it settles. */
export type ChunkTaker = (chunk: Uint8Array) => Promise<void> | undefined;

/**
 * Calls `take` with every chunk of `body` in order. Resolves once the body has ended and the last promise `take`
 * returned has settled; rejects with the first error of either, or when the body closes before its end (a request
 * cut short). After a rejection no chunk is handed over.
 */
export function eachChunk(body: Readable, take: ChunkTaker): Promise<void> {
  // A body that died before we got to it (while the caller was opening its file) emits nothing more.
  if (body.destroyed && !body.readableEnded) return Promise.reject(body.errored ?? prematureClose());
  return new Promise((resolve, reject) => {
    let settled = false;
    let ended = false;
    let waiting: Promise<void> | undefined;
    const stop = (error: unknown) => {
      if (settled) return;
      settled = true;
      detach();
      reject(error);
    };
    const onData = (chunk: Uint8Array) => {
      if (settled) return;
      let wait: Promise<void> | undefined;
      try {
        wait = take(chunk);
      } catch (error) {
        return stop(error);
      }
      if (!wait) return;
      body.pause();
      waiting = wait;
      wait.then(() => {
        if (waiting === wait) waiting = undefined;
        if (!settled) body.resume();
      }, stop);
    };
    const onEnd = () => {
      if (settled) return;
      ended = true;
      detach();
      Promise.resolve(waiting).then(() => {
        if (settled) return;
        settled = true;
        resolve();
      }, stop);
    };
    const onClose = () => ended || stop(prematureClose());
    // The error and close listeners stay: once settled they do nothing, and a stream left without an error
    // listener would throw its next error.
    const detach = () => {
      body.off("data", onData);
      body.off("end", onEnd);
    };
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", stop);
    body.once("close", onClose);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error("the body closed before its end"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
