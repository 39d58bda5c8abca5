#!/usr/bin/python3
"""bench/user-archs.py: architectures users commonly serve that torchvision
does not build, through the same sweep as bench/torchvision-zoo.py
(docs/onnx.md, "Architectures users serve that torchvision does not
build"): seeded random weights, no download, BatchNorm settled, exported
(batch symbolic), converted at both precisions, compared with ONNX Runtime
on unseen samples.

- yolov8n: a YOLOv8-style detector written out here (Conv+BN+SiLU, C2f,
  SPPF's MaxPools, nearest Resize, Concat, the DFL head's Softmax over 16
  bins, boxes decoded against anchors made in forward from the feature
  maps' shapes): one output [N, 84, 8400] at 640x640, no NMS, as a user's
  export of it without NMS gives; yolov8n_seg and yolov8n_pose its
  Segment and Pose heads; yolov5n YOLOv5's C3 blocks and 5-D anchor head.
- deit_tiny: a DeiT/ViT-Tiny-style classifier as timm writes it (patch-embed
  Conv, class token and position embedding, 12 blocks of LayerNorm, MHA
  through one qkv Linear, GELU MLP), 224x224, 1000 classes; vit_tiny_tv
  torchvision's VisionTransformer (nn.MultiheadAttention) at that size.

usage: /usr/bin/python3 bench/user-archs.py WORKDIR [MODEL...]
(NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries.)
"""
import importlib.util
import math
import os

import torch
from torch import nn

_spec = importlib.util.spec_from_file_location(
    "zoo", os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision-zoo.py"))
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)


class ConvBnSilu(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = ConvBnSilu(c, c, 3), ConvBnSilu(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = ConvBnSilu(c1, 2 * self.c)
        self.cv2 = ConvBnSilu((2 + n) * self.c, c2)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = ConvBnSilu(c1, c), ConvBnSilu(c * 4, c2)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """The distribution focal loss integral: a softmax over 16 bins, then their
    expectation through a fixed 1x1 Conv of weights 0..15."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, offset=0.5):
    points, stride_t = [], []
    for f, s in zip(feats, strides):
        _, _, h, w = f.shape
        sx = torch.arange(end=w, dtype=f.dtype) + offset
        sy = torch.arange(end=h, dtype=f.dtype) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_t.append(torch.full((h * w, 1), s, dtype=f.dtype))
    return torch.cat(points).transpose(0, 1), torch.cat(stride_t).transpose(0, 1)


class Detect(nn.Module):
    def __init__(self, nc, ch, strides=(8, 16, 32), reg_max=16):
        super().__init__()
        self.nc, self.reg_max, self.no, self.strides = nc, reg_max, nc + reg_max * 4, strides
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(ConvBnSilu(x, c2, 3), ConvBnSilu(c2, c2, 3),
                                               nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(ConvBnSilu(x, c3, 3), ConvBnSilu(c3, c3, 3),
                                               nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(reg_max)
        for a, b, s in zip(self.cv2, self.cv3, strides):  # ultralytics' bias_init
            a[-1].bias.data[:] = 1.0
            b[-1].bias.data[:nc] = math.log(5 / nc / (640 / s) ** 2)

    def forward(self, xs):
        b = xs[0].shape[0]
        xs = [torch.cat((cv2(x), cv3(x)), 1) for x, cv2, cv3 in zip(xs, self.cv2, self.cv3)]
        anchors, strides = make_anchors(xs, self.strides)
        cat = torch.cat([x.view(b, self.no, -1) for x in xs], 2)
        box, cls = cat.split((self.reg_max * 4, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        a = anchors.unsqueeze(0)
        x1y1, x2y2 = a - lt, a + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class Segment(Detect):
    """YOLOv8-seg's head: the boxes and 32 mask coefficients per anchor, and
    the prototype masks (a 2x ConvTranspose) at 1/4 of the input."""

    def __init__(self, nc, ch, nm=32, npr=64):
        super().__init__(nc, ch)
        c4 = max(ch[0] // 4, nm)
        self.cv4 = nn.ModuleList(nn.Sequential(ConvBnSilu(x, c4, 3), ConvBnSilu(c4, c4, 3),
                                               nn.Conv2d(c4, nm, 1)) for x in ch)
        self.proto = nn.Sequential(ConvBnSilu(ch[0], npr, 3), nn.ConvTranspose2d(npr, npr, 2, 2),
                                   ConvBnSilu(npr, npr, 3), ConvBnSilu(npr, nm))

    def forward(self, xs):
        b = xs[0].shape[0]
        mc = torch.cat([cv4(x).view(b, -1, x.shape[2] * x.shape[3])
                        for x, cv4 in zip(xs, self.cv4)], 2)
        return torch.cat((super().forward(xs), mc), 1), self.proto(xs[0])


class Pose(Detect):
    """YOLOv8-pose's head: 17 keypoints (x, y, visibility) per anchor, decoded
    against the anchors as ultralytics' export does ([N, 17, 3, A] views)."""

    def __init__(self, nc, ch, kpt=(17, 3)):
        super().__init__(nc, ch)
        self.kpt, nk = kpt, kpt[0] * kpt[1]
        c4 = max(ch[0] // 4, nk)
        self.cv4 = nn.ModuleList(nn.Sequential(ConvBnSilu(x, c4, 3), ConvBnSilu(c4, c4, 3),
                                               nn.Conv2d(c4, nk, 1)) for x in ch)

    def forward(self, xs):
        b = xs[0].shape[0]
        kpt = torch.cat([cv4(x).view(b, self.kpt[0] * self.kpt[1], -1)
                         for x, cv4 in zip(xs, self.cv4)], -1)
        anchors, strides = make_anchors(xs, self.strides)
        det = super().forward(xs)
        y = kpt.view(b, *self.kpt, -1)
        a = (y[:, :, :2] * 2.0 + (anchors - 0.5)) * strides
        a = torch.cat((a, y[:, :, 2:3].sigmoid()), 2)
        return torch.cat((det, a.view(b, self.kpt[0] * self.kpt[1], -1)), 1)


class YoloV8(nn.Module):
    """YOLOv8n's layout (width 0.25, depth 0.33, max channels 1024); head:
    Detect, Segment or Pose."""

    def __init__(self, nc=80, w=(16, 32, 64, 128, 256), n=(1, 2, 2, 1), head=Detect):
        super().__init__()
        self.b0, self.b1 = ConvBnSilu(3, w[0], 3, 2), ConvBnSilu(w[0], w[1], 3, 2)
        self.b2 = C2f(w[1], w[1], n[0], True)
        self.b3, self.b4 = ConvBnSilu(w[1], w[2], 3, 2), C2f(w[2], w[2], n[1], True)
        self.b5, self.b6 = ConvBnSilu(w[2], w[3], 3, 2), C2f(w[3], w[3], n[2], True)
        self.b7, self.b8 = ConvBnSilu(w[3], w[4], 3, 2), C2f(w[4], w[4], n[3], True)
        self.b9 = SPPF(w[4], w[4])
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12 = C2f(w[4] + w[3], w[3])
        self.h15 = C2f(w[3] + w[2], w[2])
        self.h16, self.h18 = ConvBnSilu(w[2], w[2], 3, 2), C2f(w[2] + w[3], w[3])
        self.h19, self.h21 = ConvBnSilu(w[3], w[3], 3, 2), C2f(w[3] + w[4], w[4])
        self.detect = head(nc, (w[2], w[3], w[4]))

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h12 = self.h12(torch.cat((self.up(p5), p4), 1))
        h15 = self.h15(torch.cat((self.up(h12), p3), 1))
        h18 = self.h18(torch.cat((self.h16(h15), h12), 1))
        h21 = self.h21(torch.cat((self.h19(h18), p5), 1))
        return self.detect([h15, h18, h21])


class C3(nn.Module):
    """YOLOv5's CSP block: two 1x1 branches, Bottlenecks on one, concatenated."""

    def __init__(self, c1, c2, n=1, shortcut=True):
        super().__init__()
        c = c2 // 2
        self.cv1, self.cv2, self.cv3 = ConvBnSilu(c1, c), ConvBnSilu(c1, c), ConvBnSilu(2 * c, c2)
        self.m = nn.Sequential(*(Bottleneck(c, shortcut) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class DetectV5(nn.Module):
    """YOLOv5's anchor head: per level [N, 3, 85, H, W] moved to
    [N, 3, H, W, 85] (5-D), sigmoid, xy and wh decoded against the grid and
    the anchors, flattened to [N, 3*H*W, 85] and concatenated."""

    ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))

    def __init__(self, nc, ch, strides=(8, 16, 32)):
        super().__init__()
        self.nc, self.no, self.na, self.strides = nc, nc + 5, 3, strides
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
        self.register_buffer("anchors", torch.tensor(self.ANCHORS, dtype=torch.float).view(3, 3, 2))

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=x.dtype),
                                    torch.arange(nx, dtype=x.dtype), indexing="ij")
            grid = torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2) - 0.5
            anchor_grid = self.anchors[i].view(1, self.na, 1, 1, 2).expand(1, self.na, ny, nx, 2)
            xy, wh, conf = x.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + grid) * self.strides[i]
            wh = (wh * 2) ** 2 * anchor_grid
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


class YoloV5(nn.Module):
    """YOLOv5n's layout (v6+: a 6x6 stem Conv, C3 blocks, SPPF)."""

    def __init__(self, nc=80, w=(16, 32, 64, 128, 256), n=(1, 2, 3, 1)):
        super().__init__()
        self.b0 = ConvBnSilu(3, w[0], 6, 2)
        self.b0.conv.padding = (2, 2)
        self.b1, self.b2 = ConvBnSilu(w[0], w[1], 3, 2), C3(w[1], w[1], n[0])
        self.b3, self.b4 = ConvBnSilu(w[1], w[2], 3, 2), C3(w[2], w[2], n[1])
        self.b5, self.b6 = ConvBnSilu(w[2], w[3], 3, 2), C3(w[3], w[3], n[2])
        self.b7, self.b8 = ConvBnSilu(w[3], w[4], 3, 2), C3(w[4], w[4], n[3])
        self.b9 = SPPF(w[4], w[4])
        self.h10, self.h14 = ConvBnSilu(w[4], w[3]), ConvBnSilu(w[3], w[2])
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h13, self.h17 = C3(2 * w[3], w[3], 1, False), C3(2 * w[2], w[2], 1, False)
        self.h18, self.h20 = ConvBnSilu(w[2], w[2], 3, 2), C3(2 * w[2], w[3], 1, False)
        self.h21, self.h23 = ConvBnSilu(w[3], w[3], 3, 2), C3(2 * w[3], w[4], 1, False)
        self.detect = DetectV5(nc, (w[2], w[3], w[4]))

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        h10 = self.h10(self.b9(self.b8(self.b7(p4))))
        h14 = self.h14(self.h13(torch.cat((self.up(h10), p4), 1)))
        h17 = self.h17(torch.cat((self.up(h14), p3), 1))
        h20 = self.h20(torch.cat((self.h18(h17), h14), 1))
        h23 = self.h23(torch.cat((self.h21(h20), h10), 1))
        return self.detect([h17, h20, h23])


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp=4):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp), nn.GELU(), nn.Linear(dim * mlp, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DeiT(nn.Module):
    """DeiT-Tiny's layout (patch 16, dim 192, 12 blocks of 3 heads)."""

    def __init__(self, img=224, patch=16, dim=192, depth=12, heads=3, classes=1000):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def builder(cls):
    return lambda weights=None, **kw: cls(**kw)


def vit_tv(weights=None, **kw):
    """torchvision's VisionTransformer, its classifier (zeros at init, so the
    logits would be 0) given seeded random weights."""
    m = zoo.TV.VisionTransformer(**kw)
    nn.init.normal_(m.heads.head.weight, std=0.02)
    return m


# opset 17: what torch 1.13 exports by default for ultralytics and timm (a
# LayerNormalization node); 12 and 13: older exports (Split's sizes as an
# attribute, LayerNorm as ReduceMean, Sub, Pow, Sqrt, Div)
MODELS = {
    "yolov8n": (builder(YoloV8), [(3, 640, 640)], 17, {}),
    "yolov8n_op12": (builder(YoloV8), [(3, 640, 640)], 12, {}),
    "yolov8n_seg": (builder(YoloV8), [(3, 640, 640)], 17, {"head": Segment}),
    "yolov8n_pose": (builder(YoloV8), [(3, 640, 640)], 17, {"nc": 1, "head": Pose}),
    "yolov5n": (builder(YoloV5), [(3, 640, 640)], 12, {}),
    "deit_tiny": (builder(DeiT), [(3, 224, 224)], 17, {}),
    "deit_tiny_op13": (builder(DeiT), [(3, 224, 224)], 13, {}),
    # torchvision's own ViT class at DeiT-Tiny's size (nn.MultiheadAttention)
    "vit_tiny_tv": (vit_tv, [(3, 224, 224)], 13,
                    {"image_size": 224, "patch_size": 16, "num_layers": 12, "num_heads": 3,
                     "hidden_dim": 192, "mlp_dim": 768}),
}

if __name__ == "__main__":
    zoo.extra_main(MODELS, __doc__)
