#!/usr/bin/env python3
"""Generate bpf/pcap/traffic.pcap: a small, deterministic capture for the BPF programs.

Everything here is synthetic and written to a file; nothing is sent anywhere.
Addresses come from documentation and private ranges only:
  10.1.0.0/24         LAN clients and the LAN DNS resolver 10.1.0.1
  10.100.0.0/24       hosts on VLAN 100
  192.0.2.0/24        TEST-NET-1   (DNS answers, one blocked host)
  198.51.100.0/24     TEST-NET-2   (ping target, blocked scanners)
  203.0.113.0/24      TEST-NET-3   (web server 203.0.113.10)
  2001:db8::/32       IPv6 documentation prefix

The block list used by xdp_firewall in the README is BLOCKED_SOURCES below.

Output:
  traffic.pcap  classic libpcap file (magic a1b2c3d4, v2.4, LINKTYPE_ETHERNET,
                microsecond timestamps, little endian)
  traffic.csv   one line per packet: index, capture length, a label and a
                short description, so tests can pick packets by meaning

Usage: python3 make_pcap.py [output_dir]   (standard library only)
"""

import csv
import ipaddress
import random
import struct
import sys
from pathlib import Path

SEED = 20261125
START_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z, fixed so the file is reproducible

BLOCKED_SOURCES = ["198.51.100.66", "198.51.100.77", "192.0.2.200"]

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_LLDP = 0x88CC

PROTO_ICMP = 1
PROTO_IGMP = 2
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_GRE = 47
PROTO_ICMPV6 = 58
PROTO_HOPOPT = 0

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

rng = random.Random(SEED)


# --------------------------------------------------------------------------- helpers

def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


GATEWAY_MAC = mac("02:00:00:00:00:01")
SERVER_MAC = mac("02:00:00:00:00:02")
BROADCAST_MAC = mac("ff:ff:ff:ff:ff:ff")


def host_mac(address):
    """A stable locally administered MAC derived from an IP address."""
    raw = ipaddress.ip_address(address).packed
    return bytes([0x02, 0x42]) + raw[-4:]


def checksum(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def pseudo_header(src, dst, proto, length):
    s = ipaddress.ip_address(src).packed
    d = ipaddress.ip_address(dst).packed
    if len(s) == 4:
        return s + d + struct.pack("!BBH", 0, proto, length)
    return s + d + struct.pack("!IxxxB", length, proto)


def ethernet(dst_mac, src_mac, ethertype, payload, vlan=None):
    header = dst_mac + src_mac
    if vlan is not None:
        header += struct.pack("!HH", ETH_VLAN, vlan & 0x0FFF)
    return header + struct.pack("!H", ethertype) + payload


_ip_id = rng.randrange(1, 0xFFFF)


def ipv4(src, dst, proto, payload, ttl=64, frag=0, options=b"", more_fragments=False, ident=None):
    global _ip_id
    if ident is None:
        _ip_id = (_ip_id + 1) & 0xFFFF
        ident = _ip_id
    ihl = 5 + len(options) // 4
    flags_frag = (0x4000 if frag == 0 and not more_fragments else 0) | (0x2000 if more_fragments else 0) | frag
    header = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, ihl * 4 + len(payload), ident,
                         flags_frag, ttl, proto, 0,
                         ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src, dst, next_header, payload, hop_limit=64, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | flow, len(payload), next_header, hop_limit,
                       ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + payload


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240, options=b""):
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         offset << 4, flags, window, 0, 0) + options
    segment = header + payload
    csum = checksum(pseudo_header(src, dst, PROTO_TCP, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def udp(src, dst, sport, dport, payload):
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = checksum(pseudo_header(src, dst, PROTO_UDP, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", csum) + datagram[8:]


def icmp_echo(ident, seq, payload, reply=False):
    message = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + payload
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def icmpv6_echo(src, dst, ident, seq, payload, reply=False):
    message = struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, seq) + payload
    csum = checksum(pseudo_header(src, dst, PROTO_ICMPV6, len(message)) + message)
    return message[:2] + struct.pack("!H", csum) + message[4:]


def ip_packet(src, dst, proto, payload):
    if ":" in src:
        return ETH_IPV6, ipv6(src, dst, proto, payload)
    return ETH_IPV4, ipv4(src, dst, proto, payload)


def dns_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"


def dns_query(txid, name, qtype):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_answer(txid, name, qtype, address):
    question = dns_name(name) + struct.pack("!HH", qtype, 1)
    rdata = ipaddress.ip_address(address).packed
    answer = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rdata)) + rdata
    return struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + question + answer


# --------------------------------------------------------------------------- capture

class Capture:
    def __init__(self):
        self.records = []  # (time_us, frame, label, description)

    def add(self, time_us, frame, label, description):
        self.records.append((time_us, frame, label, description))

    def write(self, pcap_path, csv_path):
        # Stable sort: packets of one flow keep their order when times tie.
        ordered = sorted(enumerate(self.records), key=lambda item: (item[1][0], item[0]))
        with open(pcap_path, "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for _, (time_us, frame, _, _) in ordered:
                seconds, micros = divmod(time_us, 1_000_000)
                out.write(struct.pack("<IIII", START_TIME + seconds, micros, len(frame), len(frame)))
                out.write(frame)
        with open(csv_path, "w", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["index", "length", "label", "description"])
            for index, (_, (_, frame, label, description)) in enumerate(ordered):
                writer.writerow([index, len(frame), label, description])
        return len(ordered)


cap = Capture()


def tcp_session(start_us, client, server, sport, dport, exchanges, label, vlan=None, client_data=None):
    """A full TCP conversation: handshake, request/response rounds, orderly close."""
    c_mac, s_mac = host_mac(client), SERVER_MAC if vlan is None else host_mac(server)
    c_seq, s_seq = rng.getrandbits(32), rng.getrandbits(32)
    t = start_us
    mss = struct.pack("!BBH", 2, 4, 1460)

    def send(from_client, flags, payload=b"", options=b""):
        nonlocal t, c_seq, s_seq
        t += rng.randrange(200, 30_000)
        if from_client:
            seg = tcp(client, server, sport, dport, c_seq, s_seq, flags, payload, options=options)
            ethertype, packet = ip_packet(client, server, PROTO_TCP, seg)
            frame = ethernet(s_mac, c_mac, ethertype, packet, vlan)
            c_seq += len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)
            direction = f"{client}:{sport} > {server}:{dport}"
        else:
            seg = tcp(server, client, dport, sport, s_seq, c_seq, flags, payload, options=options)
            ethertype, packet = ip_packet(server, client, PROTO_TCP, seg)
            frame = ethernet(c_mac, s_mac, ethertype, packet, vlan)
            s_seq += len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)
            direction = f"{server}:{dport} > {client}:{sport}"
        names = [n for bit, n in ((TCP_SYN, "SYN"), (TCP_FIN, "FIN"), (TCP_RST, "RST"),
                                  (TCP_PSH, "PSH"), (TCP_ACK, "ACK")) if flags & bit]
        vlan_text = f" vlan {vlan}" if vlan is not None else ""
        cap.add(t, frame, label, f"TCP {direction} [{'/'.join(names)}] len {len(payload)}{vlan_text}")

    # The ACK of the handshake must acknowledge the SYN-ACK: sequence numbers
    # are bumped inside send() before the next segment is built.
    send(True, TCP_SYN, options=mss)
    send(False, TCP_SYN | TCP_ACK, options=mss)
    send(True, TCP_ACK)
    for round_index in range(exchanges):
        if client_data is not None:
            request = client_data(round_index)
        else:
            request = bytes(rng.getrandbits(8) for _ in range(rng.randrange(60, 400)))
        send(True, TCP_PSH | TCP_ACK, request)
        response_size = rng.choice([200, 536, 1200, 1448])
        send(False, TCP_PSH | TCP_ACK, bytes(rng.getrandbits(8) for _ in range(response_size)))
        send(True, TCP_ACK)
    send(True, TCP_FIN | TCP_ACK)
    send(False, TCP_FIN | TCP_ACK)
    send(True, TCP_ACK)


def http_request(round_index):
    paths = ["/", "/index.html", "/style.css", "/app.js", "/logo.png"]
    return (f"GET {paths[round_index % len(paths)]} HTTP/1.1\r\nHost: www.example.com\r\n"
            f"User-Agent: sample/1.0\r\nAccept: */*\r\n\r\n").encode()


def dns_exchange(t, client, resolver, name, qtype, answer_address, label, vlan=None):
    txid = rng.getrandbits(16)
    sport = rng.randrange(32768, 61000)
    q_type_name = "AAAA" if qtype == 28 else "A"
    c_mac = host_mac(client)
    r_mac = GATEWAY_MAC
    ethertype, packet = ip_packet(client, resolver, PROTO_UDP, udp(client, resolver, sport, 53, dns_query(txid, name, qtype)))
    cap.add(t, ethernet(r_mac, c_mac, ethertype, packet, vlan), label, f"DNS query {q_type_name} {name} from {client}")
    t += rng.randrange(300, 20_000)
    reply = udp(resolver, client, 53, sport, dns_answer(txid, name, qtype, answer_address))
    ethertype, packet = ip_packet(resolver, client, PROTO_UDP, reply)
    cap.add(t, ethernet(c_mac, r_mac, ethertype, packet, vlan), label, f"DNS answer {name} {q_type_name} {answer_address}")


def ping(t, client, target, count, label):
    ident = rng.getrandbits(16)
    for seq in range(1, count + 1):
        payload = bytes(range(0x10, 0x10 + 48))
        if ":" in client:
            req = ethernet(GATEWAY_MAC, host_mac(client), ETH_IPV6,
                           ipv6(client, target, PROTO_ICMPV6, icmpv6_echo(client, target, ident, seq, payload)))
            rep = ethernet(host_mac(client), GATEWAY_MAC, ETH_IPV6,
                           ipv6(target, client, PROTO_ICMPV6, icmpv6_echo(target, client, ident, seq, payload, True)))
        else:
            req = ethernet(GATEWAY_MAC, host_mac(client), ETH_IPV4, ipv4(client, target, PROTO_ICMP, icmp_echo(ident, seq, payload)))
            rep = ethernet(host_mac(client), GATEWAY_MAC, ETH_IPV4, ipv4(target, client, PROTO_ICMP, icmp_echo(ident, seq, payload, True)))
        cap.add(t, req, label, f"ICMP echo request {client} > {target} seq {seq}")
        cap.add(t + rng.randrange(1_000, 40_000), rep, label, f"ICMP echo reply {target} > {client} seq {seq}")
        t += 1_000_000


# --------------------------------------------------------------------------- scenarios

def build():
    names = ["www.example.com", "mail.example.com", "api.example.net", "cdn.example.org",
             "ntp.example.com", "example.org", "docs.example.net", "static.example.com"]

    # IPv4 web traffic from ten LAN clients.
    for i in range(10):
        client = f"10.1.0.{10 + i}"
        port = 80 if i % 3 == 0 else 443
        data = http_request if port == 80 else None
        tcp_session(rng.randrange(0, 20_000_000), client, "203.0.113.10", rng.randrange(40000, 60000),
                    port, rng.randrange(1, 4), "tcp4", client_data=data)

    # IPv6 web traffic.
    for i in range(4):
        tcp_session(rng.randrange(0, 20_000_000), f"2001:db8:1::{0x10 + i:x}", "2001:db8:2::10",
                    rng.randrange(40000, 60000), 443, rng.randrange(1, 3), "tcp6")

    # DNS over IPv4 and IPv6.
    for i in range(30):
        name = names[i % len(names)]
        if i % 4 == 3:
            dns_exchange(rng.randrange(0, 20_000_000), f"2001:db8:1::{0x10 + i % 4:x}", "2001:db8:1::1",
                         name, 28, f"2001:db8:2::{i + 1:x}", "dns6")
        else:
            qtype = 28 if i % 5 == 0 else 1
            answer = f"2001:db8:2::{i + 1:x}" if qtype == 28 else f"192.0.2.{10 + i}"
            dns_exchange(rng.randrange(0, 20_000_000), f"10.1.0.{10 + i % 10}", "10.1.0.1", name, qtype, answer, "dns4")

    # ICMP echo, both families.
    ping(2_000_000, "10.1.0.12", "198.51.100.1", 5, "icmp4")
    ping(3_500_000, "2001:db8:1::12", "2001:db8:2::1", 4, "icmp6")

    # VLAN 100: one TCP session and a few DNS exchanges, all 802.1Q tagged.
    tcp_session(5_000_000, "10.100.0.20", "10.100.0.5", 51515, 22, 3, "vlan_tcp4", vlan=100)
    for i in range(4):
        dns_exchange(6_000_000 + i * 700_000, "10.100.0.20", "10.100.0.1", names[i], 1, f"192.0.2.{60 + i}",
                     "vlan_dns4", vlan=100)

    # A UDP media stream to port 5004 (RTP): 12-byte RTP header + 160 bytes of audio.
    ssrc = rng.getrandbits(32)
    for seq in range(40):
        rtp = struct.pack("!BBHII", 0x80, 0, 1000 + seq, 160 * seq, ssrc) + bytes(rng.getrandbits(8) for _ in range(160))
        frame = ethernet(host_mac("10.1.0.30"), host_mac("10.1.0.20"), ETH_IPV4,
                         ipv4("10.1.0.20", "10.1.0.30", PROTO_UDP, udp("10.1.0.20", "10.1.0.30", 40000, 5004, rtp)))
        cap.add(8_000_000 + seq * 20_000, frame, "rtp", f"UDP 10.1.0.20:40000 > 10.1.0.30:5004 RTP seq {1000 + seq}")

    # Syslog to a collector (UDP 514) and an NTP exchange (UDP 123), both outside 5000-5099.
    for i in range(5):
        msg = f"<134>Jan  1 00:00:{i:02d} host1 app[42]: event {i}".encode()
        frame = ethernet(GATEWAY_MAC, host_mac("10.1.0.11"), ETH_IPV4,
                         ipv4("10.1.0.11", "10.1.0.2", PROTO_UDP, udp("10.1.0.11", "10.1.0.2", 51400, 514, msg)))
        cap.add(9_000_000 + i * 400_000, frame, "syslog", f"UDP syslog 10.1.0.11 > 10.1.0.2:514 #{i}")
    ntp_req = bytes([0x23]) + bytes(47)
    frame = ethernet(GATEWAY_MAC, host_mac("10.1.0.13"), ETH_IPV4,
                     ipv4("10.1.0.13", "203.0.113.123", PROTO_UDP, udp("10.1.0.13", "203.0.113.123", 123, 123, ntp_req)))
    cap.add(9_500_000, frame, "ntp", "UDP NTP client 10.1.0.13 > 203.0.113.123:123")

    # ARP and LLDP: not IP at all.
    for i in range(4):
        target = f"10.1.0.{20 + i}"
        arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, host_mac("10.1.0.10"),
                          ipaddress.ip_address("10.1.0.10").packed, bytes(6), ipaddress.ip_address(target).packed)
        cap.add(1_000_000 + i * 1_500_000, ethernet(BROADCAST_MAC, host_mac("10.1.0.10"), ETH_ARP, arp + bytes(18)),
                "arp", f"ARP who-has {target} tell 10.1.0.10")
        reply = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 2, host_mac(target), ipaddress.ip_address(target).packed,
                            host_mac("10.1.0.10"), ipaddress.ip_address("10.1.0.10").packed)
        cap.add(1_000_500 + i * 1_500_000, ethernet(host_mac("10.1.0.10"), host_mac(target), ETH_ARP, reply + bytes(18)),
                "arp", f"ARP {target} is-at {host_mac(target).hex(':')}")
    lldp = bytes.fromhex("020704020000000001") + bytes.fromhex("0403056574683000") + bytes.fromhex("060200780000")
    cap.add(4_000_000, ethernet(mac("01:80:c2:00:00:0e"), GATEWAY_MAC, ETH_LLDP, lldp + bytes(46 - len(lldp))),
            "lldp", "LLDP announcement from the gateway")

    # Blocked sources (see BLOCKED_SOURCES): a SYN scan, a UDP flood and pings.
    for i, port in enumerate([21, 22, 23, 25, 80, 110, 143, 443, 445, 3389, 8080, 8443]):
        seg = tcp("198.51.100.66", "203.0.113.10", 61000, port, rng.getrandbits(32), 0, TCP_SYN, window=1024)
        cap.add(10_000_000 + i * 50_000, ethernet(SERVER_MAC, GATEWAY_MAC, ETH_IPV4, ipv4("198.51.100.66", "203.0.113.10", PROTO_TCP, seg, ttl=49)),
                "blocked", f"TCP SYN scan 198.51.100.66 > 203.0.113.10:{port}")
    for i in range(15):
        payload = dns_query(rng.getrandbits(16), "example.com", 255)
        seg = udp("198.51.100.77", "10.1.0.1", rng.randrange(1024, 65535), 53, payload)
        cap.add(11_000_000 + i * 10_000, ethernet(GATEWAY_MAC, GATEWAY_MAC, ETH_IPV4, ipv4("198.51.100.77", "10.1.0.1", PROTO_UDP, seg, ttl=52)),
                "blocked", "UDP DNS ANY flood 198.51.100.77 > 10.1.0.1:53")
    for seq in range(1, 6):
        frame = ethernet(GATEWAY_MAC, GATEWAY_MAC, ETH_IPV4,
                         ipv4("192.0.2.200", "10.1.0.12", PROTO_ICMP, icmp_echo(0x4242, seq, bytes(56))))
        cap.add(12_000_000 + seq * 1_000_000, frame, "blocked", f"ICMP echo request 192.0.2.200 > 10.1.0.12 seq {seq}")
    frame = ethernet(host_mac("10.100.0.20"), GATEWAY_MAC, ETH_IPV4,
                     ipv4("198.51.100.66", "10.100.0.20", PROTO_TCP,
                          tcp("198.51.100.66", "10.100.0.20", 61000, 22, 1, 0, TCP_SYN, window=1024)), vlan=100)
    cap.add(12_500_000, frame, "blocked", "TCP SYN 198.51.100.66 > 10.100.0.20:22 vlan 100")
    # A blocked source whose TCP header is cut short: the block list still wins.
    full = ethernet(SERVER_MAC, GATEWAY_MAC, ETH_IPV4,
                    ipv4("198.51.100.66", "203.0.113.10", PROTO_TCP,
                         tcp("198.51.100.66", "203.0.113.10", 61000, 8888, 7, 0, TCP_SYN)))
    cap.add(12_600_000, full[:14 + 20 + 6], "blocked", "truncated TCP from blocked 198.51.100.66 (6 of 20 TCP bytes)")

    # Odd and truncated frames.
    odd_t = 13_000_000

    def odd(frame, label, text):
        nonlocal odd_t
        odd_t += 100_000
        cap.add(odd_t, frame, label, text)

    good = ethernet(SERVER_MAC, GATEWAY_MAC, ETH_IPV4,
                    ipv4("10.1.0.15", "203.0.113.10", PROTO_TCP, tcp("10.1.0.15", "203.0.113.10", 50000, 443, 1, 0, TCP_SYN)))
    odd(good[:10], "runt", "runt frame: 10 bytes, shorter than an Ethernet header")
    odd(good[:14 + 12], "malformed", "IPv4 header truncated: 12 of 20 bytes")
    bad_ihl = bytearray(good)
    bad_ihl[14] = 0x44  # version 4, IHL 4 (16 bytes): impossible
    odd(bytes(bad_ihl), "malformed", "IPv4 with IHL 4 (header length below 20)")
    odd(good[:14 + 20 + 8], "malformed", "TCP header truncated: 8 of 20 bytes")
    udp_frame = ethernet(GATEWAY_MAC, host_mac("10.1.0.16"), ETH_IPV4,
                         ipv4("10.1.0.16", "10.1.0.1", PROTO_UDP, udp("10.1.0.16", "10.1.0.1", 40001, 53, dns_query(1, "example.com", 1))))
    odd(udp_frame[:14 + 20 + 4], "malformed", "UDP header truncated: 4 of 8 bytes")
    v6 = ethernet(GATEWAY_MAC, host_mac("2001:db8:1::10"), ETH_IPV6,
                  ipv6("2001:db8:1::10", "2001:db8:2::10", PROTO_UDP, udp("2001:db8:1::10", "2001:db8:2::10", 40002, 53, b"x" * 20)))
    odd(v6[:14 + 20], "malformed", "IPv6 header truncated: 20 of 40 bytes")
    odd(GATEWAY_MAC + host_mac("10.1.0.17") + struct.pack("!HH", ETH_VLAN, 100), "malformed",
        "802.1Q tag truncated: 2 of 4 tag bytes")
    # Non-first fragment of a large UDP datagram: no L4 header in it.
    fragment_payload = bytes(rng.getrandbits(8) for _ in range(400))
    odd(ethernet(GATEWAY_MAC, host_mac("10.1.0.18"), ETH_IPV4,
                 ipv4("10.1.0.18", "10.1.0.1", PROTO_UDP, fragment_payload, frag=185, ident=0x1234)),
        "fragment", "IPv4 non-first fragment (offset 1480) of a UDP datagram")
    # IGMP membership report with the Router Alert option (IHL 6).
    igmp = struct.pack("!BBH4s", 0x16, 0, 0, ipaddress.ip_address("239.1.2.3").packed)
    igmp = igmp[:2] + struct.pack("!H", checksum(igmp)) + igmp[4:]
    odd(ethernet(mac("01:00:5e:01:02:03"), host_mac("10.1.0.19"), ETH_IPV4,
                 ipv4("10.1.0.19", "239.1.2.3", PROTO_IGMP, igmp, ttl=1, options=b"\x94\x04\x00\x00")),
        "ipv4_other", "IGMPv2 report with Router Alert option (IHL 6)")
    # GRE carrying an IPv4 packet.
    inner = ipv4("172.16.0.1", "172.16.0.2", PROTO_ICMP, icmp_echo(7, 1, bytes(16)))
    odd(ethernet(GATEWAY_MAC, host_mac("10.1.0.14"), ETH_IPV4,
                 ipv4("10.1.0.14", "203.0.113.20", PROTO_GRE, struct.pack("!HH", 0, ETH_IPV4) + inner)),
        "ipv4_other", "GRE tunnel packet 10.1.0.14 > 203.0.113.20")
    # IPv6 with a hop-by-hop options header in front of ICMPv6 (MLD-like).
    hbh = bytes([PROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0])
    odd(ethernet(mac("33:33:00:00:00:16"), host_mac("2001:db8:1::10"), ETH_IPV6,
                 ipv6("2001:db8:1::10", "ff02::16", PROTO_HOPOPT, hbh + bytes([143, 0, 0, 0, 0, 0, 0, 0]), hop_limit=1)),
        "ipv6_ext", "IPv6 with hop-by-hop header before ICMPv6")
    # Double-tagged (QinQ) frame: outer 802.1ad, inner 802.1Q.
    inner_ip = ipv4("10.200.0.1", "10.200.0.2", PROTO_UDP, udp("10.200.0.1", "10.200.0.2", 1000, 2000, b"qinq"))
    odd(GATEWAY_MAC + host_mac("10.200.0.1") + struct.pack("!HHHHH", ETH_QINQ, 10, ETH_VLAN, 200, ETH_IPV4) + inner_ip,
        "qinq", "QinQ frame (802.1ad 10 / 802.1Q 200) carrying UDP")
    # An IPv4 packet with version 6 in the header: inconsistent.
    bad_version = bytearray(good)
    bad_version[14] = 0x65
    odd(bytes(bad_version), "malformed", "EtherType IPv4 but IP version field 6")


def main():
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    build()
    count = cap.write(out_dir / "traffic.pcap", out_dir / "traffic.csv")
    print(f"wrote {count} packets to {out_dir / 'traffic.pcap'}")


if __name__ == "__main__":
    main()
