/** This build's version: the default firmwareVersion the station reports (BootNotification, MQTT discovery, evsed --version). */
export const FIRMWARE_VERSION = '0.1.0';

/**
 * When this release was made (UTC day); bump it with FIRMWARE_VERSION. No clock can truly be
 * earlier: a time before it from the CSMS is refused (hal/clock.ts implausibleWallTime).
 */
export const RELEASE_DATE = '2026-12-01';
