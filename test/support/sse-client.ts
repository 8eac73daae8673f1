/** A Server-Sent Events client for tests: every frame of a stream, parsed as EventSource does. */

export interface SseFrame {
  event: string;
  id: string | undefined;
  data: any;
  /** performance.now() when the frame was read. */
  atMs: number;
}

export interface SseStream {
  frames: SseFrame[];
  of(event: string): SseFrame[];
  close(): Promise<void>;
}

export function sseStream(url: string, headers: Record<string, string> = {}): SseStream {
  const ctrl = new AbortController();
  const frames: SseFrame[] = [];
  const done = (async () => {
    const res = await fetch(url, { signal: ctrl.signal, headers });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(text)?.[1];
        const data = /^data: (.*)$/m.exec(text)?.[1];
        if (event && data) frames.push({ event, id: /^id: (.*)$/m.exec(text)?.[1], data: JSON.parse(data), atMs: performance.now() });
      }
    }
  })().catch(() => undefined);
  return {
    frames,
    of: (event) => frames.filter((f) => f.event === event),
    close: async () => {
      ctrl.abort();
      await done;
    },
  };
}
