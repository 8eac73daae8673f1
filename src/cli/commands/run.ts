import { ConfigError, EXIT_CONFIG } from '../../config/errors.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { createLogger, logSecrets, type Logger } from '../../log.js';
import { secretValues } from '../../config/secrets.js';
import { configWarnings } from '../../config/warnings.js';
import { startDaemon, type Daemon } from '../../daemon.js';
import type { StopReason } from '../../evse/port.js';
import { SystemdNotifier } from '../../hal/systemd-notify.js';
import { acquireHardwareLock, HardwareBusyError, type HardwareLock } from '../../hal/hardware-lock.js';
import { writeSafeOutputsFile } from '../../hal/gpio/safe-outputs-file.js';

/**
 * evsed run: the daemon. SIGTERM/SIGINT open every contactor first, close sessions (reason Reboot)
 * and the store, exit 0. A reset requested by the backend stops sessions with SoftReset/HardReset
 * and restarts the daemon in-process (the process stays; a new BootNotification follows).
 */
export async function runCommand(options: { config: string }): Promise<number> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(options.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return EXIT_CONFIG;
    }
    throw err;
  }
  for (const secret of secretValues(loaded.config)) logSecrets.add(secret);
  const { level, format, file, fileMaxMB } = loaded.config.log;
  const log = await createLogger({ level, format, ...(file ? { file: { path: file, maxBytes: fileMaxMB * 1024 * 1024 } } : {}) });
  for (const w of configWarnings(loaded.config, loaded.file)) log.warn(`config: ${w}`);

  // One process drives the outputs: not while `evsed hw test` does (systemd's Restart= tries again).
  let lock: HardwareLock | undefined;
  try {
    lock = await acquireHardwareLock(loaded.storageDir, 'evsed run');
  } catch (err) {
    if (err instanceof HardwareBusyError) {
      log.fatal(`cannot start: ${err.message}`);
      return err.exitCode;
    }
    // Nobody holds it, but it cannot be taken: run (the store reports an unusable storage.dir itself).
    log.warn({ err: (err as Error).message }, 'running without the hardware lock: evsed hw test cannot see this daemon');
  }
  // For the unit's ExecStopPost: the outputs' safe levels, should this process die without safe().
  try {
    writeSafeOutputsFile(loaded.storageDir, loaded.config.connectors);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot write the safe-outputs file: ExecStopPost cannot make the outputs safe after a crash');
  }

  let daemon: Daemon | undefined;
  let exiting = false;
  // Under systemd (Type=notify): READY once the API answers; the watchdog is petted only while every
  // control loop is alive, so a wedged daemon is restarted. Outside systemd these are no-ops.
  const notifier = new SystemdNotifier({ log });
  const failSafe = (why: string, err?: unknown) => {
    // Outputs safe before anything else, even if the rest of the process is in a bad state.
    try {
      daemon?.safeOutputs();
    } catch {
      /* keep going: we are on the way out */
    }
    log.fatal({ err: err instanceof Error ? err.stack : String(err) }, why);
  };
  process.on('uncaughtException', (err) => {
    failSafe('uncaught exception: outputs driven safe, exiting', err);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    failSafe('unhandled promise rejection: outputs driven safe, exiting', err);
    process.exit(1);
  });

  return new Promise<number>((resolve) => {
    const shutdown = async (signal: string, reason: StopReason) => {
      if (exiting) return;
      exiting = true;
      log.info({ signal }, 'stopping: contactors open, sessions closed, store closed');
      void notifier.stopping();
      try {
        await daemon?.stop(reason);
        await lock?.release();
        resolve(0);
      } catch (err) {
        failSafe('error while stopping', err);
        resolve(1);
      }
    };
    // A service stop or restart (systemctl stop/restart, Ctrl-C) is a locally initiated reboot of the
    // charge point: OCPP 1.6 StopTransaction reason Reboot. Reset from the CSMS uses SoftReset/HardReset.
    process.on('SIGTERM', () => void shutdown('SIGTERM', 'Reboot'));
    process.on('SIGINT', () => void shutdown('SIGINT', 'Reboot'));

    const boot = async (): Promise<void> => {
      daemon = await startDaemon(loaded, log);
      await notifier.ready(`station ${loaded.config.station.id}: ${loaded.config.connectors.length} connector(s)`);
      notifier.startWatchdog(() => daemon?.health() ?? { ok: false, reason: 'daemon restarting' });
      const restart = (reason: StopReason) => {
        void (async () => {
          await daemon?.stop(reason);
          if (!exiting) await boot();
        })().catch((err) => {
          failSafe('restart failed', err);
          resolve(1);
        });
      };
      daemon.station.onReset((kind) => {
        log.warn({ kind }, 'reset: restarting the daemon');
        restart(kind === 'Hard' ? 'HardReset' : 'SoftReset');
      });
      daemon.onRestart((why) => {
        log.warn({ why }, 'restarting the daemon');
        restart('Reboot');
      });
      daemon.onExit((why) => {
        log.warn({ why }, 'exiting: the service manager starts the new release');
        void shutdown('update', 'Reboot');
      });
    };
    boot().catch((err: unknown) => {
      failSafe(`cannot start: ${(err as Error).message}`, err);
      resolve(err instanceof ConfigError ? EXIT_CONFIG : 1);
    });
  });
}

export type { Logger };
