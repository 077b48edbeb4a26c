# Seed: ../shared/seeds/004_a40aead00dee5cf2.txt
# "深度学习进阶:现代卷积神经网络技术解析与应用实践", section "4.3 GoogLeNet的实现".
# Verbatim; line breaks and indentation restored (the page ran lines together).
import torch
import torch.nn as nn
import torch.nn.functional as F
class InceptionModule(nn.Module):
    def __init__(self, in_channels, out_channels_1x1, out_channels_3x3_reduce, out_channels_3x3, out_channels_5x5_reduce, out_channels_5x5, out_channels_pool):
        super(InceptionModule, self).__init__()
        # 1x1卷积分支
        self.conv1x1 = nn.Conv2d(in_channels, out_channels_1x1, kernel_size=1)
        # 3x3卷积分支
        self.conv3x3_reduce = nn.Conv2d(in_channels, out_channels_3x3_reduce, kernel_size=1)
        self.conv3x3 = nn.Conv2d(out_channels_3x3_reduce, out_channels_3x3, kernel_size=3, padding=1)
        # 5x5卷积分支
        self.conv5x5_reduce = nn.Conv2d(in_channels, out_channels_5x5_reduce, kernel_size=1)
        self.conv5x5 = nn.Conv2d(out_channels_5x5_reduce, out_channels_5x5, kernel_size=5, padding=2)
        # 池化分支
        self.pool = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.conv_pool = nn.Conv2d(in_channels, out_channels_pool, kernel_size=1)
    def forward(self, x):
        # 1x1卷积分支
        branch1 = F.relu(self.conv1x1(x))
        # 3x3卷积分支
        branch2 = F.relu(self.conv3x3_reduce(x))
        branch2 = F.relu(self.conv3x3(branch2))
        # 5x5卷积分支
        branch3 = F.relu(self.conv5x5_reduce(x))
        branch3 = F.relu(self.conv5x5(branch3))
        # 池化分支
        branch4 = self.pool(x)
        branch4 = F.relu(self.conv_pool(branch4))
        # 拼接所有分支的输出
        outputs = [branch1, branch2, branch3, branch4]
        return torch.cat(outputs, 1)
class AuxiliaryClassifier(nn.Module):
    def __init__(self, in_channels, num_classes):
        super(AuxiliaryClassifier, self).__init__()
        self.conv = nn.Conv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
    def forward(self, x):
        x = F.relu(self.conv(x))
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x
class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000):
        super(GoogLeNet, self).__init__()
        # 前置卷积层
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.pool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(64, 192, kernel_size=3, stride=1, padding=1)
        self.pool2 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        # Inception模块
        self.inception3a = InceptionModule(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = InceptionModule(256, 128, 128, 192, 32, 96, 64)
        self.pool3 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.inception4a = InceptionModule(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = InceptionModule(504, 160, 112, 224, 24, 64, 64)
        self.inception4c = InceptionModule(504, 128, 128, 256, 24, 64, 64)
        self.inception4d = InceptionModule(504, 112, 144, 288, 32, 64, 64)
        self.inception4e = InceptionModule(528, 256, 160, 320, 32, 128, 128)
        self.pool4 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.inception5a = InceptionModule(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = InceptionModule(832, 384, 192, 384, 48, 128, 128)
        # 辅助分类器
        self.aux1 = AuxiliaryClassifier(512, num_classes)
        self.aux2 = AuxiliaryClassifier(528, num_classes)
        # 全局平均池化和全连接层
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(1024, num_classes)
    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool1(x)
        x = F.relu(self.conv2(x))
        x = self.pool2(x)
        x = self.inception3a(x)
        x = self.inception3b(x)
        x = self.pool3(x)
        x = self.inception4a(x)
        # 辅助分类器1
        aux1 = self.aux1(x)
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        # 辅助分类器2
        aux2 = self.aux2(x)
        x = self.inception4e(x)
        x = self.pool4(x)
        x = self.inception5a(x)
        x = self.inception5b(x)
        x = self.avg_pool(x)
        x = x.view(x.size(0), -1)
        x = self.fc(x)
        return x, aux1, aux2
# 测试GoogLeNet
if __name__ == "__main__":
    model = GoogLeNet(num_classes=1000)
    input_data = torch.randn(1, 3, 224, 224)
    output, aux1, aux2 = model(input_data)
    print(output.shape)  # 主输出
    print(aux1.shape)    # 辅助分类器1的输出
    print(aux2.shape)    # 辅助分类器2的输出
