# Seed: ../shared/seeds/004_a40aead00dee5cf2.txt
# "深度学习进阶:现代卷积神经网络技术解析与应用实践", sections "6.2 稠密块(Dense Block)与
# 过渡层(Transition Layer)" (listings "稠密块的实现", "过渡层的实现") and "6.3 DenseNet的实现",
# concatenated in the article's order.
# Verbatim; line breaks and indentation restored (the page ran lines together).
import torch
import torch.nn as nn
class DenseBlock(nn.Module):
    def __init__(self, num_layers, in_channels, growth_rate):
        super(DenseBlock, self).__init__()
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            self.layers.append(nn.Sequential(
                nn.BatchNorm2d(in_channels + i * growth_rate),
                nn.ReLU(inplace=True),
                nn.Conv2d(in_channels + i * growth_rate, growth_rate, kernel_size=3, padding=1)
            ))
    def forward(self, x):
        features = [x]
        for layer in self.layers:
            out = layer(torch.cat(features, 1))
            features.append(out)
        return torch.cat(features, 1)
class TransitionLayer(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(TransitionLayer, self).__init__()
        self.transition = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2)
        )
    def forward(self, x):
        return self.transition(x)
class DenseNet(nn.Module):
    def __init__(self, num_classes=1000):
        super(DenseNet, self).__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.denseblock1 = DenseBlock(num_layers=6, in_channels=64, growth_rate=32)
        self.transition1 = TransitionLayer(in_channels=64 + 6 * 32, out_channels=128)
        self.denseblock2 = DenseBlock(num_layers=12, in_channels=128, growth_rate=32)
        self.transition2 = TransitionLayer(in_channels=128 + 12 * 32, out_channels=256)
        self.denseblock3 = DenseBlock(num_layers=24, in_channels=256, growth_rate=32)
        self.transition3 = TransitionLayer(in_channels=256 + 24 * 32, out_channels=512)
        self.denseblock4 = DenseBlock(num_layers=16, in_channels=512, growth_rate=32)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 + 16 * 32, num_classes)
    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.denseblock1(x)
        x = self.transition1(x)
        x = self.denseblock2(x)
        x = self.transition2(x)
        x = self.denseblock3(x)
        x = self.transition3(x)
        x = self.denseblock4(x)
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        x = self.fc(x)
        return x
# 测试DenseNet
if __name__ == "__main__":
    model = DenseNet(num_classes=1000)
    input_data = torch.randn(1, 3, 224, 224)
    output = model(input_data)
    print(output.shape)
