"""AS001 on packet buffers sized by what the hardware received: a frame's length that a
register or an RX descriptor reports is at most the buffer the driver posted, so an skb
of it is not reported; the same length for a kmalloc() stays a note, and an skb whose
bound a device chose (a transfer's buffer sized by a USB descriptor) stays reported."""

from __future__ import annotations

from types import SimpleNamespace

from allocscan.analyze import analyze
from allocscan.extract import extract_file
from allocscan.kernel.tables import source_tables
from allocscan.kernel.version import builtin_kernel
from allocscan.link import link
from allocscan.rules import by_id

from .test_values import USB_H

OPTIONS = SimpleNamespace(min_order=4)


def _as001(*files):
    facts = [extract_file(path, text.encode()) for path, text in files]
    analysis = analyze(link(facts), builtin_kernel("6.1"))
    return sorted(by_id()["AS001"].check(analysis, OPTIONS), key=lambda f: f.line)


NIC = ("drivers/net/ethernet/demo/demo_nic.c", """
#include <linux/netdevice.h>

struct demo_rx_desc { __le32 addr; __le16 len; __le16 status; };
struct demo_nic { struct napi_struct napi; void __iomem *regs; struct demo_rx_desc *ring; };

static int demo_poll(struct napi_struct *napi, int budget)
{
	struct demo_nic *nic = container_of(napi, struct demo_nic, napi);
	unsigned int len = le16_to_cpu(nic->ring[0].len);
	unsigned int fifo = readl(nic->regs + 0x40);
	struct sk_buff *skb;
	void *copy;

	skb = napi_alloc_skb(napi, len);
	skb = netdev_alloc_skb(napi->dev, fifo);
	copy = kmalloc(len, GFP_ATOMIC);
	kfree(copy);
	return 0;
}

int demo_open(struct net_device *dev, struct demo_nic *nic)
{
	netif_napi_add(dev, &nic->napi, demo_poll);
	return 0;
}
""")


def test_an_skb_of_a_received_frames_length_is_not_reported_a_kmalloc_of_it_is_a_note():
    """The RX descriptor's 16-bit length and the FIFO register's byte count are what the
    hardware received into the buffer it was given: the skbs (lines 15, 16) are not
    reported. The kmalloc() of the same length (line 17) is the note it was."""
    findings = _as001(NIC)
    assert [(f.line, f.level) for f in findings] == [(17, "note")]
    assert findings[0].properties["deviceControlled"] == ["device:demo_rx_desc.len"]



USB = ("drivers/usb/class/demo_acm.c", """
#include <linux/usb.h>

struct demo_ctrl_desc { u8 bLength; __le16 wMaxCommand; };
struct demo_acm { struct urb *urb; void *buf; struct usb_device *udev; };

static void demo_read_done(struct urb *urb)
{
	struct sk_buff *skb = alloc_skb(urb->actual_length, GFP_ATOMIC);

	kfree_skb(skb);
}

int demo_bind(struct demo_acm *acm, struct demo_ctrl_desc *desc)
{
	u16 size = le16_to_cpu(desc->wMaxCommand);

	usb_fill_bulk_urb(acm->urb, acm->udev, 1, acm->buf, size, demo_read_done, acm);
	return 0;
}
""")


def test_an_skb_of_a_transfer_whose_buffer_a_device_sized_is_still_reported():
    """`urb->actual_length` is within the buffer the driver gave the transfer, and that
    buffer's length is the device's own descriptor field: the device chose how large the
    frame may be, not the driver. The skb stays reported."""
    findings = _as001(USB_H, USB)
    assert [f.line for f in findings] == [9]
    assert "device:urb.actual_length" in findings[0].properties["deviceControlled"]


def test_which_device_sources_are_lengths_the_receiver_reports():
    tables = source_tables()
    assert tables.is_received_length("device:readl(nic->regs + 0x40)")
    assert tables.is_received_length("device:get_unaligned_le16(hdr)")
    assert tables.is_received_length("device:demo_rx_desc.len")
    assert not tables.is_received_length("device:urb.actual_length")
    assert not tables.is_received_length("device:usb_cdc_ncm_ntb_parameters.dwNtbInMaxSize")
    assert not tables.is_received_length("device:usb_ctrlrequest.wLength")
    assert not tables.is_received_length("usb-descriptor:wMaxPacketSize")
    assert not tables.is_received_length("module_param:rx_len")
    assert not tables.is_received_length("device:demo_helper(x)")


NCM = ("drivers/net/usb/demo_ncm.c", """
#include <linux/usb.h>

struct usb_cdc_ncm_ntb_parameters { __le16 wLength; __le32 dwNtbInMaxSize; };
struct demo_ncm { struct net_device *net; struct urb *urb; u32 rx_urb_size;
		  struct usb_cdc_ncm_ntb_parameters parm; };

static void demo_ncm_rx_done(struct urb *urb)
{
	struct demo_ncm *dev = urb->context;
	struct sk_buff *skb = __netdev_alloc_skb(dev->net, dev->rx_urb_size, GFP_ATOMIC);

	kfree_skb(skb);
}

int demo_ncm_bind(struct demo_ncm *dev)
{
	dev->rx_urb_size = le32_to_cpu(dev->parm.dwNtbInMaxSize);
	dev->urb->complete = demo_ncm_rx_done;
	return 0;
}
""")


def test_an_skb_as_large_as_a_device_declares_its_transfers_is_reported():
    """NCM's dwNtbInMaxSize is the size the device declares for the transfers it takes,
    which the driver posts as its receive buffers: not a received frame's length. The
    same field under a struct name no table knows is taken for one."""
    findings = _as001(USB_H, NCM)
    assert [f.line for f in findings] == [11]
    assert findings[0].properties["deviceControlled"] == ["device:usb_cdc_ncm_ntb_parameters.dwNtbInMaxSize"]
    renamed = (NCM[0], NCM[1].replace("usb_cdc_ncm_ntb_parameters", "demo_ntb_parameters"))
    assert _as001(USB_H, renamed) == []
