import { connectorKnown, type HandlerContext } from './context.js';
import type { TriggerMessageConf, TriggerMessageReq } from '../messages.js';

/** TriggerMessage: answer first, then send (S16 §5.17). */
export async function triggerMessage(ctx: Pick<HandlerContext, 'station' | 'bootStatus' | 'afterReply' | 'triggers'>, req: TriggerMessageReq): Promise<TriggerMessageConf> {
  const { connectorId } = req;
  const t = ctx.triggers;
  if (connectorId !== undefined && connectorId !== 0 && !connectorKnown(ctx.station, connectorId)) return { status: 'Rejected' };
  const after = (fn: () => Promise<unknown>) => ctx.afterReply(() => void fn());
  switch (req.requestedMessage) {
    case 'BootNotification':
      // once Accepted, a new BootNotification would reset the CSMS's view: refuse (E16 §3.35)
      if (ctx.bootStatus() === 'Accepted') return { status: 'Rejected' };
      after(() => t.bootNotification());
      return { status: 'Accepted' };
    case 'Heartbeat':
      after(() => t.heartbeat());
      return { status: 'Accepted' };
    case 'StatusNotification':
      after(() => t.statusNotification(connectorId));
      return { status: 'Accepted' };
    case 'MeterValues': {
      // the most recent values (E16 §3.46); Accepted always means a MeterValues follows
      const readings = await t.meterReadings(connectorId ? [connectorId] : ctx.station.connectorIds());
      if (!readings.length) return { status: 'Rejected' };
      after(() => t.meterValues(readings));
      return { status: 'Accepted' };
    }
    case 'FirmwareStatusNotification':
      // Idle when no firmware job runs (S16 §4.5: Idle only ever in a triggered notification)
      after(() => t.firmwareStatus());
      return { status: 'Accepted' };
    case 'DiagnosticsStatusNotification':
      // Idle when no diagnostics upload runs (Idle is only ever sent when triggered)
      after(() => t.diagnosticsStatus());
      return { status: 'Accepted' };
    default:
      return { status: 'NotImplemented' };
  }
}
