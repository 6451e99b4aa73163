# Opens N connections to the API, each sending one GET, and prints the RSS growth per
# connection (used by bench/stream-memory.sh). Usage: idle-conns.py PORT SERVER-PID N PATH
import socket, sys, time, os
port=int(sys.argv[1]); pid=sys.argv[2]; n=int(sys.argv[3]); path=sys.argv[4] if len(sys.argv)>4 else "/healthz"
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])//1024
before=rss(); socks=[]
for i in range(n):
    s=socket.create_connection(("127.0.0.1",port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    socks.append(s)
for s in socks:
    s.settimeout(5); s.recv(65536)
time.sleep(0.5)
print(f"{n} conns on {path}: RSS {rss()} MB (before {before} MB) = {(rss()-before)*1024/n:.1f} KB each")
