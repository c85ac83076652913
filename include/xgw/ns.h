/* SPDX-License-Identifier: MIT */
/* XML namespace URIs used across the gateway. */
#ifndef XGW_NS_H
#define XGW_NS_H

#define XGW_NS_CLIENT         "jabber:client"
#define XGW_NS_STREAM         "http://etherx.jabber.org/streams"
#define XGW_NS_STREAMS        "urn:ietf:params:xml:ns:xmpp-streams"
#define XGW_NS_FRAMING        "urn:ietf:params:xml:ns:xmpp-framing"
#define XGW_NS_TLS            "urn:ietf:params:xml:ns:xmpp-tls"
#define XGW_NS_SASL           "urn:ietf:params:xml:ns:xmpp-sasl"
#define XGW_NS_COMPRESS       "http://jabber.org/features/compress"
#define XGW_NS_COMPRESS_PROTO "http://jabber.org/protocol/compress"
#define XGW_NS_SM             "urn:xmpp:sm:3"
#define XGW_NS_HTTPBIND       "http://jabber.org/protocol/httpbind"
#define XGW_NS_XBOSH          "urn:xmpp:xbosh"
#define XGW_NS_XML            "http://www.w3.org/XML/1998/namespace"

#endif
