/** This build's version: the default firmwareVersion the station reports (BootNotification, MQTT discovery, evsed --version). */
export const FIRMWARE_VERSION = '0.1.0';
