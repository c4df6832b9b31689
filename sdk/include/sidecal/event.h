/*
** sidecal connector SDK: the normalized calendar event.
**
** Every provider's event is translated by its connector into this struct;
** the core never sees provider payloads except as raw_json, which it stores
** verbatim for debugging. All strings are UTF-8 and owned by whoever filled
** the struct; the receiver copies what it keeps before the call returns.
**
** ABI rules: see the changelog in sidecal/connector.h. Structs here only
** grow at the end, and each starts with its own struct_size so a host can
** tell which fields a plugin knew about.
*/
#ifndef SIDECAL_EVENT_H
#define SIDECAL_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* sidecal_event.status */
#define SIDECAL_EVENT_CONFIRMED 1u
#define SIDECAL_EVENT_TENTATIVE 2u
#define SIDECAL_EVENT_CANCELLED 3u

struct sidecal_attendee {
  const char *name;   /* display name or NULL */
  const char *email;  /* NULL when the provider has none */
  const char *phone;  /* E.164 when known, else as given, or NULL */
};

struct sidecal_event {
  uint32_t struct_size;      /* sizeof(struct sidecal_event) of the writer */
  uint32_t status;           /* SIDECAL_EVENT_* */
  const char *external_id;   /* the provider's id; for an occurrence of a
                                recurring series, unique per occurrence */
  const char *etag;          /* change key / etag, or NULL */
  int64_t start_utc;         /* seconds since the Unix epoch, UTC */
  int64_t end_utc;           /* exclusive; > start_utc */
  const char *timezone;      /* IANA zone the event was written in, or NULL */
  uint32_t all_day;          /* 1: a date event; start/end are 00:00 UTC of
                                the first day and the day after the last */
  uint32_t n_attendees;
  const struct sidecal_attendee *attendees;
  const char *title;         /* may be NULL */
  const char *description;   /* may be NULL */
  const char *location;      /* may be NULL */
  int64_t last_modified_utc; /* seconds since the epoch, 0 when unknown */
  const char *raw_json;      /* provider payload as JSON text, or NULL */
  /* --- ABI 1.1 --- read only when struct_size covers it */
  const char *marker;        /* host -> connector: "sidecal:<id>" to keep
                                with the event; connector -> host: the marker
                                found on the event, or NULL */
  /* --- ABI 1.2 --- read only when struct_size covers it */
  const char *replaces_external_id; /* connector -> host: this event replaces
                                the provider event with that id (Cal.com
                                gives a rescheduled booking a new uid): the
                                host moves the appointment linked to the old
                                id to this id instead of creating a second
                                one. NULL otherwise. */
  const char *event_type;    /* our event type slug. host -> connector: the
                                appointment's type (pick the provider's
                                type from it); connector -> host: the type
                                the provider's type maps to. NULL: unknown */
  const char *appointment_status; /* connector -> host: a finer status than
                                `status` when the provider has one, as one
                                of the appointment status names
                                ("NO_SHOW", "COMPLETED", ...); NULL: let
                                `status` decide */
  /* --- ABI 1.3 --- read only when struct_size covers it */
  const char *staff;         /* our staff slug. host -> connector: the
                                appointment's staff member (pick the
                                provider's user from it); connector -> host:
                                the staff member the provider's user maps
                                to. NULL: unknown or unassigned */
};

/* Nonzero when ev was written by a connector that knew `field`. */
#define SIDECAL_EVENT_HAS(ev, field)                                  \
  ((ev)->struct_size >= offsetof(struct sidecal_event, field) +        \
                            sizeof((ev)->field))

/* A half-open window [start_utc, end_utc) in seconds since the epoch. */
struct sidecal_window {
  int64_t start_utc;
  int64_t end_utc;
};

#endif
