# Seed: ../shared/seeds/003_a4af079438bed158.txt
# "ResNet18网络架构:揭秘残差连接和捷径连接", two listings:
#   section "2.3 残差连接在 ResNet18 中的应用" (Keras-style `resnet_block`; the article
#   gives no imports: Conv2D, BatchNormalization and Activation are Keras layers, and
#   tests supply them from tests/article_code/keras_shim.py, a PyTorch stand-in);
#   section "3.2 捷径连接在ResNet18中的设计" (PyTorch `ResNetBlock`).
# Verbatim; the article's line breaks kept.

# ---- section 2.3 (Keras) ----
def resnet_block(x_in, filters):
    x = Conv2D(filters, (3, 3), padding='same')(x_in)
    x = BatchNormalization()(x)
    x = Activation('relu')(x)
    x = Conv2D(filters, (3, 3), padding='same')(x)
    x = BatchNormalization()(x)
    x = x_in + x
    return x

# ---- section 3.2 (PyTorch) ----
import torch
import torch.nn as nn

class ResNetBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super(ResNetBlock, self).__init__()

        # 构建残差块
        # 如果输入和输出层维度不同,则使用投影捷径连接
        if in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
        else:
            self.shortcut = nn.Identity()

        # 构建两个卷积层
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        # 残差块的前向传播
        # 计算捷径连接的输出
        shortcut = self.shortcut(x)

        # 计算残差
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu1(out)
        out = self.conv2(out)
        out = self.bn2(out)

        # 将残差与捷径连接相加,得到输出
        out += shortcut
        out = self.relu1(out)

        return out
