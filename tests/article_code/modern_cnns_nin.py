# Seed: ../shared/seeds/004_a40aead00dee5cf2.txt
# "深度学习进阶:现代卷积神经网络技术解析与应用实践", section "3.3 NiN的实现".
# Verbatim; line breaks and indentation restored (the page ran lines together).
import torch
import torch.nn as nn
import torch.nn.functional as F
class NiNBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super(NiNBlock, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.5)
    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        x = self.relu(x)
        x = self.dropout(x)
        return x
class NiN(nn.Module):
    def __init__(self, num_classes=1000):
        super(NiN, self).__init__()
        self.nin_block1 = nn.Sequential(
            NiNBlock(3, 96, kernel_size=11, stride=4, padding=0),
            NiNBlock(96, 96, kernel_size=1, stride=1, padding=0),
            NiNBlock(96, 96, kernel_size=1, stride=1, padding=0),
        )
        self.pool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.nin_block2 = nn.Sequential(
            NiNBlock(96, 256, kernel_size=5, stride=1, padding=2),
            NiNBlock(256, 256, kernel_size=1, stride=1, padding=0),
            NiNBlock(256, 256, kernel_size=1, stride=1, padding=0),
        )
        self.pool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.nin_block3 = nn.Sequential(
            NiNBlock(256, 384, kernel_size=3, stride=1, padding=1),
            NiNBlock(384, 384, kernel_size=1, stride=1, padding=0),
            NiNBlock(384, 384, kernel_size=1, stride=1, padding=0),
        )
        self.pool3 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.nin_block4 = nn.Sequential(
            NiNBlock(384, 1024, kernel_size=3, stride=1, padding=1),
            NiNBlock(1024, 1024, kernel_size=1, stride=1, padding=0),
            NiNBlock(1024, num_classes, kernel_size=1, stride=1, padding=0),
        )
        self.global_avg_pool = nn.AdaptiveAvgPool2d((1, 1))
    def forward(self, x):
        x = self.nin_block1(x)
        x = self.pool1(x)
        x = self.nin_block2(x)
        x = self.pool2(x)
        x = self.nin_block3(x)
        x = self.pool3(x)
        x = self.nin_block4(x)
        x = self.global_avg_pool(x)
        x = x.view(x.size(0), -1)
        return x
# 测试NiN网络
if __name__ == "__main__":
    model = NiN(num_classes=1000)
    input_data = torch.randn(1, 3, 224, 224)  # 模拟输入数据
    output = model(input_data)
    print(output.shape)  # 输出应为torch.Size([1, 1000])
