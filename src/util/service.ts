/** A part of the daemon started after the station (OCPP, MQTT...), stopped before it. */
export interface Service {
  stop(): Promise<void>;
}
