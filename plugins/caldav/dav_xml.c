/*
** WebDAV/CalDAV XML bodies and multistatus parsing (libxml2).
*/
#include "dav_xml.h"

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_DAV "DAV:"
#define NS_CALDAV "urn:ietf:params:xml:ns:caldav"
#define NS_CS "http://calendarserver.org/ns/"

static int is(const xmlNode *n, const char *ns, const char *name) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         !strcmp((const char *)n->ns->href, ns) && !strcmp((const char *)n->name, name);
}

static xmlNode *child(const xmlNode *n, const char *ns, const char *name) {
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (is(c, ns, name)) return c;
  return NULL;
}

static char *text_of(const xmlNode *n) {
  if (!n) return NULL;
  xmlChar *t = xmlNodeGetContent(n); /* concatenates text and CDATA */
  if (!t) return NULL;
  char *s = g_strdup((const char *)t);
  xmlFree(t);
  return g_strstrip(s);
}

static uint32_t status_code(const xmlNode *n) {
  char *s = text_of(n);
  uint32_t code = 0;
  if (s) {
    const char *sp = strchr(s, ' ');
    if (sp) code = (uint32_t)strtoul(sp + 1, NULL, 10);
  }
  g_free(s);
  return code;
}

static xmlDoc *parse(const char *body, size_t len) {
  if (!body || !len || len > (size_t)INT32_MAX) return NULL;
  /* No network, no entity expansion: the document comes from outside. */
  return xmlReadMemory(body, (int)len, "dav.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_HUGE);
}

static void read_prop(const xmlNode *prop, struct cd_dav_response *r) {
  for (xmlNode *p = prop->children; p; p = p->next) {
    if (is(p, NS_DAV, "getetag")) {
      g_free(r->etag);
      r->etag = text_of(p);
    } else if (is(p, NS_CALDAV, "calendar-data")) {
      g_free(r->calendar_data);
      r->calendar_data = text_of(p);
    } else if (is(p, NS_DAV, "displayname")) {
      g_free(r->displayname);
      r->displayname = text_of(p);
    } else if (is(p, NS_DAV, "sync-token")) {
      g_free(r->sync_token);
      r->sync_token = text_of(p);
    } else if (is(p, NS_DAV, "current-user-principal")) {
      g_free(r->principal);
      r->principal = text_of(child(p, NS_DAV, "href"));
    } else if (is(p, NS_CALDAV, "calendar-home-set")) {
      g_free(r->home);
      r->home = text_of(child(p, NS_DAV, "href"));
    } else if (is(p, NS_DAV, "resourcetype")) {
      r->is_calendar = child(p, NS_CALDAV, "calendar") != NULL;
    } else if (is(p, NS_CALDAV, "supported-calendar-component-set")) {
      r->has_comp_set = 1;
      for (xmlNode *c = p->children; c; c = c->next) {
        if (!is(c, NS_CALDAV, "comp")) continue;
        xmlChar *name = xmlGetProp(c, (const xmlChar *)"name");
        if (name && !strcmp((const char *)name, "VEVENT")) r->supports_vevent = 1;
        xmlFree(name);
      }
    }
  }
}

static void read_response(const xmlNode *n, struct cd_dav_response *r) {
  memset(r, 0, sizeof *r);
  for (xmlNode *c = n->children; c; c = c->next) {
    if (is(c, NS_DAV, "href") && !r->href) {
      r->href = text_of(c);
    } else if (is(c, NS_DAV, "status")) {
      r->status = status_code(c);
    } else if (is(c, NS_DAV, "propstat")) {
      uint32_t s = status_code(child(c, NS_DAV, "status"));
      xmlNode *prop = child(c, NS_DAV, "prop");
      if (prop && s >= 200 && s < 300) read_prop(prop, r);
    }
  }
}

static void response_free(struct cd_dav_response *r) {
  g_free(r->href);
  g_free(r->etag);
  g_free(r->calendar_data);
  g_free(r->displayname);
  g_free(r->sync_token);
  g_free(r->principal);
  g_free(r->home);
}

int cd_multistatus_parse(const char *body, size_t len, struct cd_multistatus *out,
                         char *why, size_t why_size) {
  memset(out, 0, sizeof *out);
  xmlDoc *doc = parse(body, len);
  xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
  if (!is(root, NS_DAV, "multistatus")) {
    g_strlcpy(why, doc ? "the answer is not a DAV:multistatus" : "the answer is not XML",
              why_size);
    xmlFreeDoc(doc);
    return -1;
  }
  size_t cap = 0;
  for (xmlNode *c = root->children; c; c = c->next) {
    if (is(c, NS_DAV, "sync-token")) {
      g_free(out->sync_token);
      out->sync_token = text_of(c);
    }
    if (!is(c, NS_DAV, "response")) continue;
    if (out->n == cap) {
      cap = cap ? cap * 2 : 16;
      out->r = g_renew(struct cd_dav_response, out->r, cap);
    }
    read_response(c, &out->r[out->n]);
    if (out->r[out->n].href) out->n++;
    else response_free(&out->r[out->n]);
  }
  xmlFreeDoc(doc);
  return 0;
}

void cd_multistatus_free(struct cd_multistatus *ms) {
  if (!ms) return;
  for (size_t i = 0; i < ms->n; i++) response_free(&ms->r[i]);
  g_free(ms->r);
  g_free(ms->sync_token);
  memset(ms, 0, sizeof *ms);
}

static int find_element(const xmlNode *n, const char *ns, const char *name) {
  for (; n; n = n->next) {
    if (is(n, ns, name) || find_element(n->children, ns, name)) return 1;
  }
  return 0;
}

int cd_xml_has_element(const char *body, size_t len, const char *ns, const char *name) {
  xmlDoc *doc = parse(body, len);
  if (!doc) return 0;
  int found = find_element(xmlDocGetRootElement(doc), ns, name);
  xmlFreeDoc(doc);
  return found;
}

/* ---- request bodies --------------------------------------------------- */

#define XML_DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

char *cd_body_propfind_principal(void) {
  return g_strdup(XML_DECL "<D:propfind xmlns:D=\"DAV:\"><D:prop>"
                           "<D:current-user-principal/></D:prop></D:propfind>");
}

char *cd_body_propfind_home(void) {
  return g_strdup(XML_DECL "<D:propfind xmlns:D=\"DAV:\" xmlns:C=\"" NS_CALDAV "\"><D:prop>"
                           "<C:calendar-home-set/></D:prop></D:propfind>");
}

char *cd_body_propfind_calendars(void) {
  return g_strdup(XML_DECL "<D:propfind xmlns:D=\"DAV:\" xmlns:C=\"" NS_CALDAV
                           "\" xmlns:CS=\"" NS_CS "\"><D:prop>"
                           "<D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/>"
                           "<C:supported-calendar-component-set/></D:prop></D:propfind>");
}

char *cd_body_propfind_sync_token(void) {
  return g_strdup(XML_DECL "<D:propfind xmlns:D=\"DAV:\"><D:prop><D:sync-token/>"
                           "</D:prop></D:propfind>");
}

char *cd_body_sync_collection(const char *token) {
  return g_markup_printf_escaped(
      XML_DECL "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>%s</D:sync-token>"
               "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
               "</D:sync-collection>", token ? token : "");
}

static void utc_stamp(int64_t t, char *buf, size_t size) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}

char *cd_body_calendar_query(int64_t start_utc, int64_t end_utc, int with_data) {
  char s[32], e[32];
  utc_stamp(start_utc, s, sizeof s);
  utc_stamp(end_utc, e, sizeof e);
  return g_strdup_printf(
      XML_DECL "<C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"" NS_CALDAV "\">"
               "<D:prop><D:getetag/>%s</D:prop>"
               "<C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">"
               "<C:time-range start=\"%s\" end=\"%s\"/></C:comp-filter></C:comp-filter>"
               "</C:filter></C:calendar-query>",
      with_data ? "<C:calendar-data/>" : "", s, e);
}

char *cd_body_multiget(const char *const *hrefs, size_t n) {
  GString *b = g_string_new(XML_DECL "<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"" NS_CALDAV
                                     "\"><D:prop><D:getetag/><C:calendar-data/></D:prop>");
  for (size_t i = 0; i < n; i++) {
    char *esc = g_markup_escape_text(hrefs[i], -1);
    g_string_append_printf(b, "<D:href>%s</D:href>", esc);
    g_free(esc);
  }
  g_string_append(b, "</C:calendar-multiget>");
  return g_string_free(b, FALSE);
}
