# Seed: ../shared/seeds/004_a40aead00dee5cf2.txt
# "深度学习进阶:现代卷积神经网络技术解析与应用实践", section "2.4 VGG的实现".
# Verbatim; line breaks and indentation restored (the page ran lines together).
import torch
import torch.nn as nn
class VGG(nn.Module):
    def __init__(self, features, num_classes=1000):
        super(VGG, self).__init__()
        self.features = features
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, num_classes),
        )
    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        x = self.classifier(x)
        return x
def make_layers(cfg, in_channels=3, batch_norm=False):
    layers = []
    for v in cfg:
        if v == 'M':
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)
# VGG16配置
cfg_vgg16 = [64, 64, 'M',128, 128, 'M',256, 256, 256, 'M',512, 512, 512, 'M',512, 512, 512, 'M'
]
# VGG19配置
cfg_vgg19 = [64, 64, 'M',128, 128, 'M',256, 256, 256, 256, 'M',512, 512, 512, 512, 'M',512, 512, 512, 512, 'M'
]
# 测试VGG16
if __name__ == "__main__":
    model = VGG(make_layers(cfg_vgg16), num_classes=1000)
    input_data = torch.randn(1, 3, 224, 224)
    output = model(input_data)
    print(output.shape)  # 输出应为torch.Size([1, 1000])
