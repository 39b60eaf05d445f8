#!/usr/bin/env python3
"""Independent computation (plain Python: RFC 791, RFC 8200, RFC 768, RFC 1071) of the
known-answer frames in src/frame/tests.rs. Run it to regenerate the hex strings there."""
import struct, ipaddress
def csum(b):
    if len(b)%2: b += b'\0'
    s = 0
    for i in range(0,len(b),2):
        s += (b[i]<<8)|b[i+1]
    while s>>16: s = (s&0xffff)+(s>>16)
    return (~s)&0xffff
def frame(smac,dmac,src,dst,sp,dp,payload,ipid):
    s=ipaddress.ip_address(src).packed; d=ipaddress.ip_address(dst).packed
    ulen=8+len(payload)
    udp0=struct.pack('!HHHH',sp,dp,ulen,0)
    if len(s)==4:
        ph=s+d+struct.pack('!BBH',0,17,ulen)
    else:
        ph=s+d+struct.pack('!I',ulen)+b'\0\0\0\x11'
    c=csum(ph+udp0+payload)
    if c==0: c=0xffff
    udp=struct.pack('!HHHH',sp,dp,ulen,c)
    if len(s)==4:
        ip=struct.pack('!BBHHHBBH',0x45,0,20+ulen,ipid,0,64,17,0)+s+d
        ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]
        et=0x0800
    else:
        ip=struct.pack('!IHBB',0x60000000,ulen,17,32)+s+d
        et=0x86dd
    return dmac+smac+struct.pack('!H',et)+ip+udp+payload
sm=bytes.fromhex('020000000001'); dm=bytes.fromhex('020000000002')
f4=frame(sm,dm,'192.0.2.1','198.51.100.7',6665,6667,b'netoops',0x1234)
f6=frame(sm,dm,'2001:db8::1','2001:db8::2',6665,6667,b'netoops!\n',0)
print('V4', f4.hex())
print('V6', f6.hex())
# payload making the UDP sum 0xffff (checksum 0 -> sent 0xffff)
s=ipaddress.ip_address('10.0.0.1').packed; d=ipaddress.ip_address('10.0.0.2').packed
ulen=10
pre=s+d+struct.pack('!BBH',0,17,ulen)+struct.pack('!HHHH',1,2,ulen,0)
x=0
for i in range(0,len(pre),2): x+=(pre[i]<<8)|pre[i+1]
while x>>16: x=(x&0xffff)+(x>>16)
w=0xffff-x
print('zero-payload', hex(w))
fz=frame(sm,dm,'10.0.0.1','10.0.0.2',1,2,struct.pack('!H',w),7)
print('VZ', fz.hex())
