"""A tiny authoritative DNS server on a loopback port (UDP, one thread), answering from a
zone file: what the resolver tests point DNS_RESOLVER at, so lookups go over the wire."""
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.zone


class TinyDns:
    def __init__(self, zone_text: str, origin: str):
        self.zone = dns.zone.from_text(zone_text, origin=origin, relativize=False,
                                       check_origin=False)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.queries = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            node = self.zone.get_node(question.name)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                rdataset = node.get_rdataset(self.zone.rdclass, question.rdtype)
                if rdataset is not None:
                    rrset = response.find_rrset(response.answer, question.name, self.zone.rdclass,
                                                question.rdtype, create=True)
                    rrset.update(rdataset)
            self.socket.sendto(response.to_wire(), peer)

    def close(self):
        self.socket.close()
