/*
** The one SQL projection of an appointment into API JSON, shared by the
** read and write paths so every response has the same shape.
*/
#ifndef SC_APPOINTMENT_JSON_H
#define SC_APPOINTMENT_JSON_H

#define SC_APPT_JSON_SELECT                                                    \
  "SELECT json_build_object("                                                  \
  " 'id', a.id, 'location', l.slug, 'staff', s.slug, 'event_type', e.slug,"    \
  " 'status', a.status, 'starts_at', sc_utc(a.starts_at),"                     \
  " 'ends_at', sc_utc(a.ends_at), 'timezone', a.timezone, 'all_day', a.all_day," \
  " 'client_id', a.client_id, 'client_name', a.client_name,"                   \
  " 'client_email', a.client_email, 'client_phone', a.client_phone,"           \
  " 'type', a.type, 'title', a.title, 'description', a.description,"           \
  " 'place', a.location, 'price', a.price::text,"                              \
  " 'confirmation_sent_at', sc_utc(a.confirmation_sent_at),"                   \
  " 'reminder_sent_at', sc_utc(a.reminder_sent_at),"                           \
  " 'cancelled_at', sc_utc(a.cancelled_at), 'cancel_reason', a.cancel_reason," \
  " 'completed_at', sc_utc(a.completed_at), 'metadata', a.metadata,"           \
  " 'notes', a.notes, 'origin', a.origin, 'overlap', a.overlap,"               \
  " 'external_ids', json_build_object('calcom_booking_id', a.calcom_booking_id," \
  "   'ghl_event_id', a.ghl_event_id, 'provider_event_id', a.provider_event_id)," \
  " 'version', a.version, 'created_at', sc_utc(a.created_at),"                 \
  " 'updated_at', sc_utc(a.updated_at))::text,"                               \
  " to_char(a.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), a.id" \
  " FROM appointments a"                                                       \
  " JOIN locations l ON l.organization_id = a.organization_id AND l.id = a.location_id" \
  " LEFT JOIN staff s ON s.organization_id = a.organization_id AND s.id = a.staff_id" \
  " LEFT JOIN event_types e ON e.organization_id = a.organization_id AND e.id = a.event_type_id"

#endif
