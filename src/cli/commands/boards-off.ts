import { loadConfig } from '../../config/load.js';
import type { PilotBoardHardwareConfig } from '../../config/pilot-board.js';
import { acquireBus, type BusHandle } from '../../hal/modbus/bus.js';
import { loadPilotBoardModel } from '../../hal/pilot-board/model.js';
import { pilotBoardBus, turnBoardOff } from '../../hal/pilot-board/index.js';
import { parseArgv } from '../define.js';

/** Per request, whatever the config says: this runs while systemd waits to restart the station. */
const MAX_REQUEST_TIMEOUT_MS = 500;
const TRIES = 2;
/** The whole command, every board on every line; a board not done by then counts as not off. */
export const BOARDS_OFF_DEADLINE_MS = 5000;

export interface BoardsOffIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * `evsed boards-off`: every pilot board of the config told to turn charging off (turn-off bit,
 * offered current 0). The unit's ExecStopPost runs it after every stop: a pilot board has no
 * Modbus watchdog, so after SIGKILL, the watchdog's SIGABRT or the OOM killer it would go on
 * charging at the last current for as long as the EV asks. No hardware lock: it runs once the
 * daemon is gone, and a running daemon would write its own values again at its next poll.
 * Exit 0 when every board is off (or there is none), 69 (EX_UNAVAILABLE) otherwise.
 */
export async function boardsOffCommand(argv: string[], io?: BoardsOffIo): Promise<number> {
  return boardsOff(parseArgv<{ config: string }>(['boards-off'], argv), io);
}

export async function boardsOff(values: { config: string }, io?: BoardsOffIo): Promise<number> {
  const out = io?.out ?? ((l: string) => console.log(l));
  const err = io?.err ?? ((l: string) => console.error(l));
  const { config } = loadConfig(values.config);
  const boards = config.connectors.filter((c) => c.hardware.driver === 'pilot-board');
  if (!boards.length) {
    out('no connector uses hardware.driver pilot-board: nothing to turn off');
    return 0;
  }

  const handles: BusHandle[] = [];
  // Boards on one line share its bus (one request at a time); separate lines run side by side.
  const jobs = boards.map(async ({ id, hardware }) => {
    const cfg = hardware as PilotBoardHardwareConfig;
    let where = cfg.path;
    try {
      const model = loadPilotBoardModel(cfg.model);
      const line = pilotBoardBus({ ...cfg, timeoutMs: Math.min(cfg.timeoutMs, MAX_REQUEST_TIMEOUT_MS) }, model);
      where = line.where;
      const handle = acquireBus(line.spec, { connectTimeoutMs: 1000 });
      handles.push(handle);
      const r = await turnBoardOff(handle.bus, model, { unitId: line.unitId, requestGapMs: line.requestGapMs, tries: TRIES });
      return { id, where, ...r };
    } catch (e) {
      return { id, where, off: false, detail: (e as Error).message };
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), BOARDS_OFF_DEADLINE_MS)));
  const results = await Promise.all(jobs.map((j, i) => Promise.race([j, deadline]).then((r) => (r === 'late' ? { id: boards[i]!.id, where: (boards[i]!.hardware as PilotBoardHardwareConfig).path, off: false, detail: `not done within ${BOARDS_OFF_DEADLINE_MS} ms` } : r))));
  clearTimeout(timer);

  for (const r of results) {
    if (r.off) out(`connector ${r.id}: pilot board off (${r.where}): ${r.detail}`);
    else err(`connector ${r.id}: pilot board NOT turned off (${r.where}): ${r.detail}`);
  }
  // A line closes behind its requests; after the deadline one may still wait for its timeout.
  let bound: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(handles.map((h) => h.release())), new Promise((r) => (bound = setTimeout(r, 1000)))]);
  clearTimeout(bound);
  return results.every((r) => r.off) ? 0 : EXIT_UNAVAILABLE;
}

/** sysexits EX_UNAVAILABLE: a board did not answer or did not confirm. */
const EXIT_UNAVAILABLE = 69;
