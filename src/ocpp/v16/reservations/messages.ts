/** OCPP 1.6 Reservation profile messages (S16 §5.1, §5.13; schemas urn:ReserveNow.req/.conf, urn:CancelReservation.req/.conf). */
import type { IdToken } from '../messages.js';

export interface ReserveNowReq {
  connectorId: number;
  /** date-time: when the reservation ends (the CSMS's time). */
  expiryDate: string;
  idTag: IdToken;
  parentIdTag?: IdToken;
  reservationId: number;
}
export interface ReserveNowConf {
  status: 'Accepted' | 'Faulted' | 'Occupied' | 'Rejected' | 'Unavailable';
}

export interface CancelReservationReq {
  reservationId: number;
}
export interface CancelReservationConf {
  status: 'Accepted' | 'Rejected';
}
