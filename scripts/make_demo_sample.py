"""Make the demo sample in ``samples/demo/`` (a dev-only script; its outputs are committed).

It writes, from a fixed random seed and so byte-identically on every run:

* ``open_data_zh.jsonl.gz`` - Chinese open-data records (Simplified, Traditional, a few Japanese and
  Korean ones, Chinese mixed with code and English);
* ``web_en.jsonl`` - English web text plus six deliberately malformed lines;
* ``licensed_vertical.parquet`` - licensed health/education/transport/finance/low-altitude records;
* ``media.tar`` - a WebDataset tar with captioned JPEG/PNG images, WAV audio and media-only samples;
* ``labels.json`` - ground truth per record id (language, kind, duplicate source, PII counts);
* ``README.md`` - what the sample holds, with exact counts.

All text is written here, from templates and word pools; all personal-looking values (phone numbers,
ID numbers, bank cards, credit codes...) are synthetic and produced by checksum code below.

Run: ``python scripts/make_demo_sample.py [-o samples/demo]`` (needs pyarrow and Pillow).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import random
import re
import struct
import tarfile
import unicodedata
import wave
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

SEED = 20261124
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "samples" / "demo"
TAR_MTIME = 1793491200  # 2026-11-01T00:00:00Z, fixed so the tar is byte-reproducible
MAX_ORIGINAL_SIMILARITY = 0.40  # char 5-gram Jaccard; generated originals stay below it pairwise

Slots = Mapping[str, Callable[[random.Random], str]]
T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Template text. Format: "== topic" starts a topic; "title:", "intro:", "body:", "close:" start a
# template; an indented line continues the previous template (joined with nothing for Chinese,
# with one space for English). "[a|b]" picks one alternative; "{SLOT}" is filled from the context.
# ---------------------------------------------------------------------------------------------

ZH_TOPICS_SRC = """
== transport
title: {Y}年{D}公共交通客流统计数据说明
title: {ROAD}沿线交通运行情况[月报|季报]
title: 地铁{LINE}号线[客流|运营]数据集更新说明
intro: 本数据集汇总了{Y}年{M}月{D}范围内公交、地铁和共享单车的出行记录，按日和站点两个维度进行了统计。
intro: 为支持交通规划和学术研究，市交通运输局[按季度|按月]向社会开放{D}主要道路的运行指数数据。
intro: 以下内容根据{Y}年第{Q}季度的交通运行监测结果整理，数据已经过脱敏和聚合处理。
body: 地铁{LINE}号线工作日日均客运量约{W}万人次，较去年同期[增长|上升]{P}%。
body: 早高峰时段{ROAD}平均车速为每小时[18|21|24|27|32]公里，晚高峰[略有|明显]改善。
body: 全市共有公交线路{NN}条，其中{D}辖区内{N}条线路完成了[新能源车辆替换|线网优化调整]。
body: 共享单车日均骑行量达到{NK}次，平均骑行时长{MIN}分钟，超过[六成|七成]的行程集中在地铁站周边一公里范围内。
body: {D}新增公共停车泊位{NK}个，路内停车平均周转率为每天{X}.{X}次。
body: 交通指数显示，[周一|周五]早高峰是一周中拥堵最严重的时段，主要拥堵路段集中在{ROAD}和{ROAD2}交汇处。
body: 为方便市民换乘，{LINE}号线与{LINE2}号线在{STATION}站实现了同台换乘，换乘时间缩短约{N}秒。
body: 夜间公交线路在{HN}点以后的载客率约为{P}%，部分线路将根据客流情况调整发车间隔。
body: 出租车和网约车的平均订单距离为{X}.{X}公里，机场和高铁站是最主要的接送点。
body: 数据字段包括站点编号、线路名称、进站人数、出站人数和统计时间，时间粒度为[5|15|30]分钟。
body: 在节假日期间，{D}主要商圈周边道路的车流量比平日高出{P}%，交警部门提前发布了绕行提示。
body: 慢行系统建设持续推进，全市新建和改造自行车道{NN}公里，人行道无障碍改造完成率达到{R}%。
body: 根据抽样调查，通勤时间在四十五分钟以内的居民占比为{R}%，比上一年度提高了{X}个百分点。
body: 城市轨道交通网络总里程已达到{NN}公里，{D}内的地铁站点平均步行可达时间约为{N}分钟。
body: 跨城通勤需求明显增加，往返{D2}与临近城市的城际列车[工作日|周末]上座率超过{R}%。
== health
title: {Y}年{D}医疗卫生服务资源统计
title: 社区健康服务中心运行情况公示
title: {D}家庭医生签约服务[数据|年报]
intro: 本数据集由卫生健康部门提供，涵盖{Y}年{D}各级医疗机构的门诊量、床位数和医务人员配置情况。
intro: 为提升基层医疗服务能力，{D}自{Y0}年起持续推进社区健康服务中心标准化建设，现将有关数据公开如下。
intro: 以下统计口径以医疗机构执业登记信息为准，不含部分专科诊所和门诊部。
body: 全区共有社区健康服务中心{N}家，平均每家服务常住人口约[1.2|1.8|2.3|2.9|3.5]万人。
body: {HOSP}全年门急诊量达到{W}万人次，工作日高峰时段日均门诊量超过{NK}人次。
body: 家庭医生签约服务覆盖{R}%的六十五岁及以上老年人，重点人群的续约率较上年提高{X}个百分点。
body: 每千人口执业（助理）医师数为{X}.{X}人，注册护士数为{X}.{X}人，医护比[进一步优化|保持稳定]。
body: 流感疫苗接种点共设置{NN}个，市民可通过[官方小程序|健康服务平台]查询附近接种点并预约时间。
body: 急救中心平均急救反应时间为[9|10|11|12|13].{X}分钟，较{Y0}年缩短了约{X}分钟。
body: 互联网医院累计提供在线复诊服务{NK}人次，慢性病患者可在线续方并选择药品配送到家。
body: 儿童常规免疫接种率保持在{R}%以上，新生儿听力筛查和先天性心脏病筛查实现全覆盖。
body: [夏季|秋冬季]是呼吸道疾病高发期，卫生部门提醒市民注意通风、勤洗手，出现发热症状时及时就医。
body: 全市医疗机构床位总数为{NK}张，其中{D}新增床位{NN}张，主要用于老年病和康复医学科。
body: 检查检验结果互认项目扩大到{NN}项，患者在不同医院就诊时可减少重复检查。
body: 心理健康服务热线全年接听来电{NK}通，夜间时段的咨询量约占总量的{P}%。
body: 数据中的门诊量按就诊人次统计，同一患者当日在同一科室多次挂号只计一次。
body: 社区健康服务中心普遍延长了服务时间，[晚间门诊|周末门诊]的就诊人数占全天的{P}%左右。
body: 中医药服务进一步下沉，{N}家社区健康服务中心开设了针灸、推拿等中医诊疗项目。
== education
title: {Y}年{D}中小学学位供给情况
title: {D}课后服务开展情况统计
title: 职业技能教育与继续教育数据说明
intro: 本数据集公开了{Y}年{D}公办和民办中小学的学校数量、在校生人数以及新增学位情况。
intro: 根据教育部门的年度统计，{D}基础教育资源在过去三年中持续扩容，以下为主要指标。
intro: 为便于家长了解入学政策和学位分布，教育局对相关数据进行了汇总整理并按片区发布。
body: {Y}年{D}新建、改扩建中小学{N}所，新增公办学位{NK}个。
body: 全区小学一年级招生{NK}人，其中通过积分入学的非户籍学生占比约{P}%。
body: 课后服务覆盖全部公办小学，参与学生比例达到{R}%，服务内容包括作业辅导、体育活动和科技兴趣小组。
body: 义务教育阶段平均班额为[38|40|41|43|44|45]人，[大班额问题|超大班额现象]已基本消除。
body: 学校图书馆生均藏书量为{N}册，部分学校开放了周末借阅服务。
body: 中等职业学校开设专业{N}个，[智能制造|无人机应用技术|新能源汽车维修]等新专业报名人数增长较快。
body: 教师队伍中具有研究生学历的比例为{P}%，新入职教师全部参加了为期{N}天的岗前培训。
body: {D}共有幼儿园{NN}所，普惠性幼儿园在园幼儿占比达到{R}%。
body: 学生体质健康测试优良率为[48.5|52.3|55.1|58.7|61.2]%，近视率较上一年度下降了{X}.{X}个百分点。
body: 社区学院全年开设成人教育课程{NN}门，[老年大学|家长学校]的课程报名常常在开放当天即满额。
body: 数据字段包括学校名称、办学性质、学段、班级数、在校生数和专任教师数，不包含任何学生个人信息。
body: 高中阶段学校招生计划增加[2000|3500|4800|6200]个，普通高中录取比例比去年提高了{X}个百分点。
body: 全市中小学已开设人工智能通识课程，每学期课时不少于{N}节，部分学校组建了机器人社团。
body: 校园午餐配送实行统一招标，家长委员会每学期对供餐质量进行[两次|三次]抽查。
== finance
title: {Y}年第{Q}季度普惠金融服务数据
title: 小微企业融资情况统计说明
title: 数字人民币试点应用场景统计
intro: 本数据集由地方金融管理部门汇总发布，反映{Y}年第{Q}季度辖区内普惠金融和小微企业融资的总体情况。
intro: 为了帮助研究人员了解区域金融运行情况，以下指标均以季度末余额或季度累计值列示。
intro: 以下数据来源于辖区内银行业金融机构的统计报送，已剔除涉及单个客户的明细信息。
body: 普惠型小微企业贷款余额达到{NK}亿元，同比增长{P}%，增速高于各项贷款平均水平。
body: 新发放小微企业贷款的加权平均利率为[3|4].{X}%，较年初下降{N}个基点。
body: 首贷户数量增加{NK}户，其中科技型中小企业占比约{P}%。
body: 数字人民币受理商户已超过{W}万家，覆盖餐饮、零售、交通出行和政务缴费等场景。
body: 信用类贷款在新增贷款中的占比提升至{P}%，银行通过税务和社保数据开展[线上授信|批量审批]。
body: 政府性融资担保机构全年担保金额{NN}亿元，平均担保费率降至[0.5|0.8|1.0]%以下。
body: 跨境贸易人民币结算量同比增长{P}%，前海片区的结算量约占全市的{P}%。
body: 农户和个体工商户的经营性贷款不良率为[1.2|1.5|1.8|2.1]%，风险总体可控。
body: 金融消费者投诉共受理{NK}件，主要涉及[信用卡分期|理财产品销售|贷款催收]等问题，办结率为{R}%。
body: [供应链金融|知识产权质押融资]业务持续扩大，全年新增融资{NN}亿元，惠及企业{NK}家。
body: 所有金额单位为人民币，增长率按可比口径计算，部分数据因四舍五入存在尾差。
body: 辖区内银行网点{NN}个，其中提供适老化服务的网点比例达到{R}%。
body: 反电信网络诈骗宣传进社区活动开展{NN}场，银行机构协助拦截可疑转账{NK}笔。
body: 绿色贷款余额同比增长{P}%，资金主要投向[清洁能源|轨道交通|建筑节能]等领域。
== low_altitude
title: {Y}年低空经济发展情况通报
title: {D}无人机物流航线运行数据
title: 城市空中交通（eVTOL）试飞与起降设施统计
intro: 本数据集记录了{Y}年{D}低空飞行服务平台受理的飞行计划、航线运行和起降点建设情况。
intro: 随着低空经济相关政策的落地，{D}的无人机配送和城市空中交通试点项目快速增加，以下为主要统计指标。
intro: 以下数据由低空飞行服务中心提供，飞行记录已按航线和日期聚合，不包含操作员身份信息。
body: 全年累计受理无人机飞行计划{NK}架次，其中物流配送类飞行约占{P}%。
body: {D}已建成无人机起降点{NN}个，覆盖[社区|医院|写字楼|公园]等典型场景。
body: 外卖无人机配送平均时长约为{MIN}分钟，比同距离地面配送缩短{P}%左右。
body: [医疗样本|血液制品]无人机运输航线已在[4|5|6|8]家医院之间常态化运行，单程飞行时间不超过{MIN}分钟。
body: 电动垂直起降飞行器（eVTOL）完成跨海试飞{N}次，最长单次航程约{N}公里。
body: 低空智能融合基础设施接入的通感一体基站数量达到{NN}个，可为{NN}米以下空域提供通信和监视服务。
body: 飞行服务平台对申请进行自动审批，{R}%的常规飞行计划可在{N}分钟内获得批复。
body: [大风|强降雨|雷暴]天气期间，平台会暂停相关空域的飞行计划并向运营企业推送预警信息。
body: 无人机巡检已应用于电力线路、河道和建筑工地，全年巡检里程累计{NK}公里。
body: 违规飞行事件{N}起，主要原因为未报备飞行计划和进入临时禁飞区，相关操作员已被约谈。
body: 本地低空经济相关企业超过{NN}家，涵盖整机制造、飞控系统、电池和运营服务等环节。
body: 城市空中交通航线规划优先利用河道、绿地和高速公路上空，以降低噪声和地面风险。
body: 起降点选址需满足净空、消防和噪声评估要求，并与周边居民进行充分沟通。
body: 低空观光航线在节假日期间共运营{NN}架次，载客直升机和eVTOL样机同场展示吸引了大量市民。
body: 无人机驾驶员执照持证人数增加到{NK}人，[职业院校|培训机构]每月开设理论和实操课程。
== environment
title: {Y}年{D}空气质量监测数据
title: 河流水质月度监测结果公开
title: 生活垃圾分类工作进展统计
intro: 本数据集包含{Y}年{D}各空气质量监测站点的逐日监测数据，指标包括PM2.5、PM10、臭氧和二氧化氮。
intro: 生态环境部门每月对辖区主要河流和近岸海域开展水质监测，现将{Y}年{M}月的结果公布如下。
intro: 以下数据反映了{D}生活垃圾分类和资源化利用的进展情况，统计周期为{Y}年全年。
body: 全年空气质量优良天数为{NN}天，优良率为{R}%，PM2.5年均浓度为每立方米[16|18|19|21|23|26]微克。
body: 臭氧是影响夏秋季空气质量的首要污染物，[午后|傍晚]时段浓度通常达到一天中的峰值。
body: {RIVER}的[8|10|12]个监测断面中，有[5|6|7|8]个断面水质达到地表水Ⅲ类及以上标准。
body: 近岸海域水质优良面积比例为{R}%，[赤潮|水华]发生次数较往年明显减少。
body: 生活垃圾回收利用率达到{P}%，厨余垃圾日均分出量约{NK}吨。
body: {D}新建口袋公园{N}个，公园绿地服务半径覆盖率达到{R}%。
body: 全市建成区噪声监测点位{NN}个，昼间区域环境噪声平均值为[52|54|55|56|57].{X}分贝。
body: 在{PARK}开展的鸟类调查中共记录鸟类{NN}种，其中包括多种国家重点保护野生动物。
body: 建筑工地扬尘在线监测设备接入数量达到{NK}台，超标情况可在{MIN}分钟内推送给监管人员。
body: 市民可在开放平台下载监测站点坐标和逐小时数据，数据格式为CSV和JSON两种。
body: 新能源汽车保有量持续增加，机动车尾气对氮氧化物排放的贡献比例下降了{X}个百分点。
body: [红树林|湿地]保护面积扩大到{NN}公顷，部分区域已恢复为候鸟重要栖息地。
body: 河道巡查发现的排污口问题共{NN}处，已全部纳入整改清单并按月公开进度。
== housing
title: {Y}年保障性住房建设与供应情况
title: {D}城市更新项目信息公开
title: 住房租赁市场监测数据
intro: 本数据集发布了{Y}年全市保障性住房的建设筹集、供应分配和租赁市场的主要指标。
intro: 为提高城市更新工作的透明度，{D}定期公开已批准项目的规划指标和实施进度。
intro: 以下数据来源于住房和建设部门的业务系统，按项目和月份进行了汇总。
body: 全年建设筹集保障性住房{NK}套（间），其中保障性租赁住房占比约{P}%。
body: {STREET}城中村综合整治项目完成改造楼栋{NN}栋，改造后[消防通道|供水管网|电梯加装]等设施明显改善。
body: 住房租赁平台登记房源{W}万套，平均月租金为每平方米[68|75|82|90|97]元，环比[上涨|下降]{X}.{X}%。
body: 人才住房配租采用线上申请、线上轮候的方式，平均轮候时间缩短到[4|6|8|10|14]个月。
body: 老旧小区改造涉及居民{NK}户，加装电梯{NN}部，新增停车位{NN}个。
body: {D}批准城市更新单元{N}个，拆除重建类项目计划提供公共配套设施用地约{N}公顷。
body: 新建住宅全面执行绿色建筑标准，装配式建筑占新建建筑面积的比例达到{P}%。
body: 房屋安全隐患排查共覆盖{NK}栋既有建筑，发现的问题已全部建立整改台账。
body: 物业服务投诉集中在[公共维修|停车管理|收费透明度]方面，处理满意度为{R}%。
body: 项目信息包括项目名称、所在街道、用地面积、计容建筑面积和实施主体，不包含个人住户信息。
body: 租赁住房押金监管账户覆盖{R}%的规模化租赁企业，租客退租时押金平均{X}个工作日内退还。
== public_service
title: {Y}年政务服务“一网通办”运行数据
title: 12345政务服务便民热线[月度|季度]分析
title: {D}政务服务中心办件量统计
intro: 本数据集汇总了{Y}年全市政务服务平台的事项办理量、网办率和群众评价情况。
intro: 12345热线是市民反映诉求的重要渠道，以下为{Y}年{M}月热线工单的分类统计结果。
intro: 为持续优化营商环境，{D}政务服务中心按月公开办件数量和平均办理时长。
body: 政务服务事项网上可办率达到{R}%，其中{NN}个高频事项实现“秒批”。
body: 12345热线本月受理来电{NK}个，[噪声扰民|物业纠纷|交通出行|劳动保障]类诉求排在前列。
body: {D}政务服务中心日均接待办事群众{NK}人次，平均等候时间为{MIN}分钟。
body: 企业开办时间压缩至{X}个工作日以内，营业执照、公章刻制和税务登记可一次办结。
body: “好差评”系统共收到评价{W}万条，好评率为{R}%，差评已全部回访整改。
body: 自助服务终端已部署到{NN}个社区，支持社保查询、公积金提取和证明打印等服务。
body: 跨区域通办事项扩展到{NN}项，港澳居民可在线办理部分商事登记业务。
body: 热线工单的按时办结率为{R}%，市民对办理结果的满意度为{R}%。
body: 政务数据共享平台本年度新增共享接口{NN}个，累计调用次数超过{W}万次。
body: 在[周末延时服务|午间不打烊]试点期间，{STREET}便民服务站新增办件{NK}件。
body: 数据中的来电诉求已经过分类和脱敏处理，不包含来电人的姓名、号码等个人信息。
body: 老年人办事可选择[线下帮办|电话预约上门]服务，全年累计提供帮办代办{NK}次。
== employment
title: {Y}年就业与人才服务统计
title: 职业技能培训补贴发放情况
title: {D}公共就业服务数据
intro: 本数据集反映了{Y}年全市公共就业服务、职业技能培训和人才引进的主要情况。
intro: 人力资源和社会保障部门按季度公开公共就业服务数据，以下为{Y}年第{Q}季度的统计结果。
body: 城镇新增就业{W}万人，城镇调查失业率保持在[4.1|4.5|4.8|5.0|5.2]%左右。
body: 公共就业服务机构举办招聘会{NN}场，提供岗位{W}万个，[数字经济|先进制造|现代服务业]岗位需求最为旺盛。
body: 全年开展补贴性职业技能培训{W}万人次，取得职业技能等级证书的人数为{NK}人。
body: 高校毕业生就业见习岗位{NK}个，见习期满留用率约为{P}%。
body: 新引进各类人才{W}万人，其中具有硕士及以上学历的占{P}%。
body: [零工市场|社区就业驿站]为灵活就业人员提供岗位匹配服务，平均每天撮合用工{NN}人次。
body: 失业保险金按月发放，申领人员可通过线上平台办理，平均审核时间为{X}个工作日。
body: 重点群体就业帮扶覆盖就业困难人员{NK}人，帮助{NK}人实现再就业。
body: 劳动争议调解成功率为{R}%，案件平均处理周期缩短至{N}天。
body: 技工院校毕业生初次就业率达到{R}%，[智能制造|工业机器人|无人机装调]专业毕业生尤其受欢迎。
body: 新就业形态劳动者职业伤害保障试点覆盖{W}万名外卖骑手和网约车司机。
body: 创业担保贷款发放{NN}笔，带动就业{NK}人，[大学生|退役军人]创业项目占比较高。
== culture_tourism
title: {Y}年公共文化设施服务数据
title: {D}旅游景区客流统计
title: 公共图书馆借阅数据开放说明
intro: 本数据集统计了{Y}年全市公共图书馆、博物馆和文化馆的开放时长、服务人次和活动场次。
intro: 为方便游客合理安排出行，文化旅游部门开放了主要景区的日客流和节假日接待数据。
body: 全市公共图书馆全年接待读者{W}万人次，外借图书{W}万册次。
body: 自助图书馆设备{NN}台分布在地铁站、社区和商场，支持[通借通还|预借送书]服务。
body: {PARK}在节假日期间单日最高接待游客{NK}人次，景区实行分时段预约入园。
body: 博物馆全年举办展览{NN}场，其中[数字展览|沉浸式展览]吸引了大量年轻观众。
body: 文化馆开设公益艺术培训班{NN}个，涵盖书法、舞蹈、合唱和粤剧等门类。
body: 夜间文旅消费持续升温，[周五|周六]晚间主要商圈的客流比白天高出{P}%。
body: 图书借阅排行榜中，[科普|历史|文学|少儿绘本]类图书最受读者欢迎。
body: 全年举办各类公益演出{NN}场，线上直播观看人次超过{W}万。
body: 入境游客数量同比增长{P}%，来自港澳地区的游客约占{P}%。
body: 数据按场馆和月份汇总，可用于分析公共文化服务的空间分布和使用效率。
body: 街道综合文化站全部实现免费开放，周末亲子活动的预约名额通常在[5|10|15|20]分钟内被抢完。
body: 非物质文化遗产展示周期间，[舞龙舞狮|客家山歌|剪纸]等项目现场参与人数超过{NK}人次。
== weather_emergency
title: {Y}年汛期气象与应急数据
title: 台风“{TYPHOON}”影响期间应急响应情况
title: 应急避难场所信息更新
intro: 本数据集收录了{Y}年汛期全市自动气象站的降雨量、风速和预警信号发布记录。
intro: 受台风“{TYPHOON}”影响，全市于{M}月启动防风应急响应，以下为响应期间的主要数据。
intro: 应急管理部门对全市应急避难场所信息进行了复核，更新后的数据如下。
body: 全市自动气象站共{NN}个，最大小时雨量出现在{D}，达到[86|102|118|135|161]毫米。
body: 暴雨[黄色|橙色|红色]预警信号全年发布{N}次，平均提前量约为{MIN}分钟。
body: 台风影响期间，全市转移安置群众{NK}人，开放应急避难场所{NN}个。
body: {D}共有室内应急避难场所{NN}处，可容纳约{W}万人，场所内配备饮用水、照明和医疗点。
body: 城市内涝监测点{NN}个，积水深度超过[15|20|25]厘米时会自动触发[短信|广播|应用推送]提醒。
body: 应急物资储备库{N}座，储备帐篷、折叠床和发电机等物资{NK}件（套）。
body: 全年组织应急演练{NN}场，参与人数超过{W}万人，重点演练内容包括防汛、消防和地震疏散。
body: [高温|寒潮|大雾]天气期间，气象部门会联合交通部门发布出行提示。
body: 年平均气温[22|23|24].{X}摄氏度，年降水量[1650|1824|1937|2105|2260]毫米，较常年[偏多|偏少]{P}%。
body: 森林防火期内，重点山林区域实行巡护制度，无人机巡查覆盖面积达{NK}公顷。
body: 地质灾害隐患点全部落实了监测责任人，汛期前完成排查{NN}处。
== energy_water
title: {Y}年新能源汽车充电设施数据
title: 城市供水与用水情况统计
title: {D}公共充电桩分布说明
intro: 本数据集提供了全市公共充电站、充电桩的位置分布和使用情况统计，数据截至{Y}年{M}月底。
intro: 水务部门定期公开供水、用水和节水相关指标，以下为{Y}年的主要统计结果。
body: 全市建成公共充电桩{W}万个，其中超充站{NN}座，[峰值功率可达|单枪最大功率为]{NN}千瓦。
body: 充电桩平均利用率为{P}%，夜间{HN}点以后的谷电时段充电量约占全天的{P}%。
body: {D}新建车网互动试点站{N}座，可在用电高峰时向电网反向送电。
body: 城市供水管网总长度{NK}公里，管网漏损率降至{X}.{X}%。
body: 居民人均日生活用水量为[152|168|175|181|196]升，[阶梯水价|节水器具补贴]政策对节约用水起到了积极作用。
body: 再生水利用量达到每日{W}万立方米，主要用于河道生态补水和市政杂用。
body: 光伏发电装机容量新增{NN}兆瓦，[公共建筑屋顶|产业园区]是主要的安装场景。
body: 全社会用电量同比增长{P}%，其中充换电服务业用电增长最为明显。
body: 二次供水设施改造覆盖住宅小区{NN}个，改造后水质抽检合格率为{R}%。
body: 充电站数据字段包括站点名称、经纬度、运营商、桩数量和收费标准，每周更新一次。
body: 换电站服务网约车和出租车为主，单次换电时间约[3|4|5]分钟，日均服务{NN}车次。
== close
close: 如需获取完整数据，请登录市政府数据开放平台按[主题|部门]检索下载。
close: 数据将按[月|季度]持续更新，历史版本可在数据集详情页查看。
close: 使用本数据时请注明数据来源，并遵守相应的开放许可协议。
close: 以上数据为初步统计结果，最终数据以相关部门正式发布的年度报告为准。
close: 欢迎研究机构和企业基于本数据开展分析和应用创新，优秀成果可申请在平台上展示。
close: 对数据质量有疑问的，可通过平台的“数据纠错”功能提交反馈。
close: 下一步，相关部门将[继续扩大数据开放范围|提升数据更新频率|完善数据字段说明]，更好地服务社会公众。
close: 数据集提供CSV、JSON和XLSX三种格式，接口调用需先完成用户注册。
"""

ZH_HANT_SRC = """
== hk
title: {Y}年港鐵及專營巴士乘客量統計
title: 公共圖書館服務數據
title: 天文台熱帶氣旋警告記錄
body: 本數據集由香港特別行政區政府相關部門提供，涵蓋{Y}年公共運輸的每日乘客量。
body: 港鐵各綫的平均每日乘客量約為{W}萬人次，其中[東鐵綫|觀塘綫|荃灣綫]在繁忙時間最為擠迫。
body: 專營巴士路線共有{NN}條，部分路線已改用電動巴士行走。
body: 天文台於{Y}年共發出熱帶氣旋警告信號{N}次，其中八號烈風或暴風信號維持了約{N}小時。
body: 公共圖書館全年外借資料{W}萬項，電子書的借閱量較去年增加{P}%。
body: 房屋委員會轄下公共屋邨的一般申請者平均輪候時間約為{X}.{X}年。
body: 政府鼓勵市民使用電子支付乘搭公共交通工具，以縮短上車時間。
body: 資料以CSV格式提供，並會於每月首個工作天更新。
body: 市民如對數據有任何查詢，可透過資料一線通網站的意見欄提出。
body: 空氣質素健康指數在{M}月錄得「高」或以上水平的日數為{N}日，主要受區域性臭氧影響。
body: 醫院管理局轄下急症室的輪候時間因應分流類別而有所不同，次緊急個案一般需時較長。
body: 本港共有公眾泳池{N}個，夏季開放時間延長至晚上十時。
body: 渡輪服務的平均每日乘客量約為{NK}人次，離島航線在假日明顯較為繁忙。
body: 康樂及文化事務署轄下的體育館於[暑假|聖誕假期]期間推出多項青少年訓練班。
== tw
title: {Y}年臺北捷運運量統計
title: 全民健康保險就醫統計資料
title: 公共自行車租借資料說明
body: 本資料集由臺北市政府提供，內容包含{Y}年各捷運站的每日進出站人次。
body: 臺北捷運平均每日運量約{W}萬人次，[板南線|淡水信義線|文湖線]為運量最高的路線。
body: 公共自行車全年租借次數超過{NK}萬次，前三十分鐘享有政府補助。
body: 全民健康保險門診就醫人次為{W}萬，平均每人每年就醫約{N}次。
body: 各縣市衛生局持續推動長期照顧服務，服務使用人數較前一年成長{P}%。
body: 國民小學的平均班級人數為{N}人，偏鄉學校則普遍採用小班教學。
body: 資料欄位包括站名、日期、時段、進站人次與出站人次，時間單位為小時。
body: 本資料採用創用CC姓名標示4.0國際授權條款釋出，使用時請註明出處。
body: 颱風來襲期間，氣象單位會發布海上及陸上颱風警報，並提醒民眾注意強風豪雨。
body: 高雄輕軌環狀線全線通車後，沿線站點的平日運量明顯提升。
body: 若發現資料有誤，歡迎透過平台的意見回饋功能告知，我們將儘速更正。
body: {Y}年空氣品質良好日數比例為{R}%，細懸浮微粒年平均濃度持續下降。
body: 圖書館推出行動借書證後，年輕讀者的借閱人數成長了{P}%。
body: 無人機應用於農田噴灑與橋梁檢測的案例逐年增加，相關飛航申請須依規定提出。
"""

EN_TOPICS_SRC = """
== travel
title: {N} Things I Wish I Knew Before Visiting {CITY}
title: A Slow Weekend in {CITY}: Markets, Ferries and Too Much Coffee
title: {CITY} on a Budget: Getting Around Without a Car
body: We arrived in {CITY} on a rainy {DAY} morning, and the first thing I noticed was how quiet the old
    town felt before the tour buses rolled in.
body: A three-day transit pass costs about {PRICE} and covers the metro, trams and most of the ferries,
    which makes it the easiest way to get around.
body: If you only have one afternoon, skip the big museum and walk along the waterfront instead; the light
    around sunset is worth the detour.
body: Most restaurants in the centre stop serving lunch at around three, so plan accordingly or you'll end
    up eating pastries for dinner (not that I'm complaining).
body: The neighbourhood north of the station used to be mostly warehouses, but over the last decade it has
    filled up with bakeries, bike shops and small galleries.
body: Book the rooftop viewpoint online at least a day in advance; we turned up without a ticket and were
    told the next free slot was {X} hours later.
body: Public toilets are surprisingly hard to find, so it's worth knowing that the library and the main
    train station both have clean ones.
body: Tap water is safe to drink here, and there are refill fountains in most parks, so bring a bottle.
body: We stayed in a small guesthouse about {MIN} minutes' walk from the centre, and the owner gave us a
    hand-drawn map of her favourite places to eat.
body: Card payments are accepted almost everywhere, but a few of the older market stalls still prefer cash.
body: The ferry across the bay runs every {MIN} minutes and costs less than a coffee, and honestly it was
    the highlight of the whole trip.
body: Sundays are quieter than you'd expect: many shops close early, but the flea market near the river is
    at its busiest.
body: If you're travelling with kids, the science museum has a hands-on floor that kept ours busy for an
    entire afternoon.
body: Our one regret was not leaving enough time for the hills outside the city, which are only a short
    regional train ride away.
body: [Spring|Autumn] is the best season to visit; summer afternoons can be stifling and the queues for
    the cable car get very long.
== cooking
title: Weeknight {DISH} That Actually Takes 30 Minutes
title: Why I Stopped Buying Stock and Started Making My Own
title: A Simple Guide to Cooking Rice Without a Rice Cooker
body: This {DISH} started as a way to use up the vegetables at the bottom of the fridge, and it has since
    become a weekly staple in our house.
body: Start by heating a tablespoon of oil in a wide pan over medium heat, then add the garlic and ginger
    and stir until fragrant, about a minute.
body: Don't be tempted to crowd the pan; if the {VEG} is piled too high it will steam instead of browning,
    and you'll lose most of the flavour.
body: I usually make a double batch on Sunday and keep the leftovers in the fridge for up to {X} days.
body: A splash of rice vinegar right at the end brightens everything up, although lemon juice works nearly
    as well.
body: If you can't find {VEG} at your local market, frozen peas or chopped green beans are perfectly good
    substitutes.
body: The whole recipe costs roughly {PRICE} for four generous portions, which is less than a single
    takeaway order.
body: Several readers asked whether this can be made vegan, and the answer is yes: swap the fish sauce for
    soy sauce and use firm tofu instead of chicken.
body: Rinse the rice two or three times until the water runs mostly clear, then let it soak for {MIN}
    minutes before cooking.
body: Taste the sauce before you add more salt, because the soy sauce and the stock already bring plenty.
body: My grandmother never measured anything, so these quantities are my best attempt at writing down what
    she did by feel.
body: Serve it with steamed greens and a fried egg on top if you want to make it a little more filling.
body: The most common mistake is adding the noodles too early; they only need a minute or two in the sauce
    before they turn soft.
body: Leftovers reheat well in a covered pan with a spoonful of water, though the crispy bits won't stay
    crispy.
body: A cheap [cast-iron|carbon-steel] pan, properly seasoned, has outlasted every non-stick pan I have
    ever owned.
== personal_finance
title: How We Cut Our Grocery Bill by {P}% Without Eating Less
title: Emergency Funds, Explained for People Who Hate Spreadsheets
title: What I Learned From Tracking Every Expense for a Year
body: For the first time in years, I sat down at the end of {MON} and actually looked at where our money
    had gone.
body: The general rule of thumb is to keep three to six months of essential expenses in an easy-access
    savings account.
body: Subscriptions were the biggest surprise: we were paying for {X} streaming services and used only two
    of them regularly.
body: Automating the transfer to savings on payday meant I never had the chance to spend the money first.
body: Interest rates on savings accounts have come down a little this year, but they still beat leaving
    cash in a current account.
body: Before you pay off a low-interest loan early, check whether there's a prepayment fee and compare it
    with what the money could earn elsewhere.
body: We now do one big grocery shop a week with a list, and anything not on the list waits until the
    following week.
body: Budgeting apps are useful, but a simple spreadsheet with four or five categories worked better for
    us because we actually kept using it.
body: If your employer matches pension contributions, contributing at least enough to get the full match
    is close to free money.
body: Credit card rewards are only worth it if you pay the balance in full every month; otherwise the
    interest wipes out any benefit.
body: This is not financial advice, just what has worked for one household with two incomes, a mortgage
    and a very hungry teenager.
body: Over twelve months our average monthly spending fell from {MONEY} to {MONEY}, mostly thanks to
    cooking at home more often.
body: Comparing insurance quotes once a year took about an hour and saved us more than {PRICE} on our car
    and home policies.
body: Scam calls pretending to be from the bank have become more convincing, so we agreed never to move
    money because of a phone call.
== commuting
title: Six Months of Cycling to Work in {CITY}
title: Is the New Bus Network Actually Faster? I Timed It
title: A Beginner's Guide to Commuting by E-Bike
body: My commute is about [6|8|9|11|12] kilometres each way, which takes roughly [25|30|35|40] minutes by
    bike and almost
    the same by bus once you add the walk to the stop.
body: The new protected bike lane on the main avenue has made a huge difference; I no longer have to share
    the road with delivery vans.
body: Winter is the real test: good lights, mudguards and a waterproof jacket matter far more than an
    expensive bike.
body: The city's bike-share scheme now has more than {NN} docking stations, and the first {MIN} minutes of
    each ride are free for monthly members.
body: I timed the old and new bus routes for two weeks, and the redesigned network saved me an average of
    {X} minutes per trip.
body: Buses now come every {MIN} minutes on the trunk routes, which means I've stopped checking the
    timetable altogether.
body: E-bikes flatten the hills, but they are heavy, so make sure your building has somewhere safe to park
    one before you buy.
body: Traffic data released by the council shows that bicycle counts on the bridge rose by {P}% after the
    lane was widened.
body: The park-and-ride at the edge of town fills up by {H} a.m. on weekdays, so people who arrive later
    end up driving all the way in.
body: Most trains allow folding bikes at any time, but full-size bikes are banned during the morning and
    evening peaks.
body: Drivers have been mostly courteous, with the exception of the roundabout near the hospital, which
    still makes me nervous.
body: The transit app finally shows real-time crowding, which helps me decide whether to wait for the next
    tram.
body: A basic service for a commuter bike costs about {PRICE} at my local shop and is worth doing every
    spring.
body: On days when it pours, I take the metro, and Line {LINE} is reliably packed from the second stop
    onwards.
== drones
title: Flying Drones Legally in the City: What Changed This Year
title: I Watched a Drone Deliver Lunch to a Park. Here's How It Works
title: eVTOL Air Taxis: Hype, Hope and the Hard Parts
body: The rules for recreational drones got stricter this year: any aircraft heavier than 250 grams now
    has to be registered before its first flight.
body: Most of the city centre sits inside controlled airspace, so flying there requires an approval
    through the official flight-planning app.
body: The delivery drone lowered the bag on a tether from about {N} metres, and the whole handover took
    less than a minute.
body: Operators say the average delivery time for short routes is around {MIN} minutes, compared with
    nearly twice that by scooter in heavy traffic.
body: Battery life is still the main limitation, with most small multirotors managing twenty to thirty
    minutes of flight in calm conditions.
body: Air taxi developers are promising short hops across the bay, but certification of passenger-carrying
    eVTOL aircraft remains a slow process.
body: Noise is the complaint I hear most often from neighbours; a drone hovering overhead is surprisingly
    loud even at {N} metres.
body: Hospitals have been early adopters, using drones to move blood samples between campuses without
    getting stuck in traffic.
body: Always check for temporary flight restrictions before you launch, especially around stadiums,
    airports and public events.
body: The new vertiport on the roof of the shopping centre has two landing pads and a charging station,
    although it still only handles test flights.
body: Remote ID broadcasting is now mandatory for most drones, which means other airspace users can see
    where you are in real time.
body: I keep a simple logbook of every flight: date, location, battery cycles and anything unusual, which
    has already helped me diagnose one motor problem.
body: Wind is more of a problem between tall buildings than in open fields, because gusts can change
    direction very suddenly.
body: The [delivery|inspection] company I spoke to flies about {NK} sorties a month and employs more
    remote pilots than warehouse staff.
== software
title: Cleaning Up a Messy CSV File With Python
title: Why Your Docker Image Is 2 GB and How to Shrink It
title: A Gentle Introduction to Parquet for Spreadsheet People
body: The dataset looked fine in a spreadsheet, but as soon as I loaded it into a script half the dates
    turned out to be in three different formats.
body: Parquet stores data by column rather than by row, which is why reading just two columns out of fifty
    is so much faster.
body: Pin your dependency versions; an unpinned library upgrade broke our nightly job twice before we
    learned that lesson.
body: Multi-stage builds let you compile everything in one image and copy only the final artefacts into a
    much smaller runtime image.
body: When a job fails at 3 a.m., good logs are worth far more than clever code, so log the input file
    name and row counts at every step.
body: Unicode problems almost always come from assuming an encoding; read files as UTF-8 explicitly and
    fail loudly when you can't.
body: I replaced a {NN}-line shell script with a small Python module and a handful of tests, and nobody
    has touched it since.
body: Compression matters: switching the output to zstd cut our storage bill by roughly {P}% with no
    noticeable slowdown.
body: Before optimising anything, measure it; in our case most of the runtime was spent parsing
    timestamps, not in the part we suspected.
body: Write the schema down somewhere, even if it's just a README, because column names like val2 mean
    nothing six months later.
body: Deduplicating records sounds trivial until you discover that the same row appears with different
    whitespace and capitalisation.
body: Continuous integration should run the same commands you run locally; otherwise you end up debugging
    the build system instead of your code.
body: If the dataset is too big for memory, process it in chunks of {NK} rows and write each chunk out
    before reading the next one.
body: Code review caught more bugs in our data pipeline than any of the [linters|type checkers] we added,
    mostly because reviewers asked what the data actually looked like.
== fitness
title: Walking Every Evening for a Month: An Honest Review
title: What Your Sleep Tracker Can and Can't Tell You
title: Simple Stretches for People Who Sit All Day
body: I started walking after dinner mostly to get away from my screen, and after a few weeks it had
    become the best part of my day.
body: Most guidelines recommend at least 150 minutes of moderate activity a week, which works out to a
    little over twenty minutes a day.
body: Sleep trackers are good at spotting patterns, such as later bedtimes on weekends, but they are much
    less reliable at measuring sleep stages.
body: Stand up and stretch every {MIN} minutes if you work at a desk; setting a quiet reminder on your
    phone makes it much easier to remember.
body: Drinking more water didn't transform my life, but it did get rid of the mid-afternoon headaches I
    had put down to stress.
body: Strength training twice a week is just as important as cardio, especially as we get older and
    naturally lose muscle.
body: Please talk to a doctor before starting a new exercise routine if you have a heart condition or any
    ongoing health problem.
body: The biggest change for me was going to bed at the same time every night, even on {DAY}s.
body: Community health centres in many cities now offer free blood pressure checks, and it only takes a
    few minutes.
body: I tried the popular ten-minute morning routine for {N} days; it was harder than it looked, and my
    hamstrings complained loudly.
body: Small swaps add up: taking the stairs, getting off the bus a stop early, or walking while taking
    phone calls.
body: Flu season is a good reminder to check whether your vaccinations are up to date, particularly for
    older relatives.
body: Rest days are part of the plan, not a sign of failure; my running improved once I stopped trying to
    train every day.
body: My step count averaged {NK} a day by the end of the month, up from about half that when I started.
== local_news
title: Council Approves New Library Branch for {CITY} East
title: Residents Weigh In on Plans to Redesign the Riverside Park
title: City Publishes Open Data on Street Repairs
body: The city council voted {N} to {X} on {DAY} night to approve funding for a new library branch in the
    eastern district.
body: Construction is expected to begin next spring and take about eighteen months, according to a
    spokesperson for the planning department.
body: More than {NN} residents attended the public consultation, and many of them raised concerns about
    parking and evening noise.
body: The open data portal now lists every pothole repair reported since {Y0}, including the date it was
    reported and the date it was fixed.
body: Average repair times have fallen from {N} days to {X} days since the city introduced an online
    reporting form.
body: Local business owners on the high street said footfall has improved since the road was
    pedestrianised, although deliveries remain a headache.
body: A councillor said the budget for the project had risen by {P}% because of higher material costs.
body: The park redesign includes a new playground, more shade trees and a wetland area intended to reduce
    flooding after heavy rain.
body: Officials stressed that no final decision has been made and that residents can still submit
    comments online until the end of {MON}.
body: The school board also announced that {N} new teachers would be hired before the start of the autumn
    term.
body: Police said the new traffic cameras near the primary school had reduced speeding by roughly {P}% in
    the first three months.
body: The mayor described the plan as a long-term investment, while critics argued that the money would
    be better spent on housing.
body: Minutes of the meeting and the full budget document are available on the council's website.
body: A petition calling for [longer library hours|safer crossings near schools] gathered {NK} signatures
    in less than a month.
== gardening
title: Growing Tomatoes on a Small Balcony
title: Composting in an Apartment: A Realistic Guide
title: What I Planted in My Community Garden Plot This Year
body: Our balcony gets about {X} hours of direct sun in summer, which turned out to be just enough for
    cherry tomatoes and herbs.
body: Use containers that hold at least twenty litres for tomatoes; smaller pots dry out too quickly on
    hot afternoons.
body: A small worm bin under the sink handles most of our vegetable scraps and doesn't smell if you keep
    it balanced with shredded paper.
body: The community garden has a waiting list of almost {NN} households, so I feel lucky to have a plot
    at all.
body: Water in the early morning rather than the evening; damp leaves overnight are an invitation to
    mould.
body: Basil hates the cold, so I wait until night temperatures stay above ten degrees before moving it
    outside.
body: Companion planting is partly folklore, but marigolds really did seem to keep the aphids away from
    our beans.
body: Our neighbour gave us cuttings from her rosemary, and most of them rooted within a month.
body: If your soil is heavy clay, adding compost every autumn slowly improves the structure more than any
    quick fix.
body: The harvest this year was about {KG} kilograms of tomatoes, which is not much by farm standards but
    plenty for two people.
body: Slugs were the main enemy after the wet spring, and a nightly torch patrol was the only thing that
    really worked.
body: The city's green roof programme offers small grants to buildings that want to add planters or rain
    gardens.
body: Label everything when you sow seeds, because in three weeks every seedling looks exactly the same.
body: Next year I want to try [climbing beans|sweet potatoes|chillies], if the landlord doesn't object to
    yet another pot.
== electric_cars
title: A Year With an Electric Car in an Apartment Building
title: Public Charging in {CITY}: The Good, the Bad and the Queues
title: Do Electric Buses Really Make a Difference?
body: We don't have a driveway, so for the first year we relied entirely on public chargers and one slow
    socket at my partner's office.
body: The fast chargers at the shopping centre are great when they work, but on {DAY} afternoons there's
    often a queue of three or four cars.
body: Charging overnight on an off-peak tariff costs about a quarter of what the same distance would cost
    in petrol.
body: Range anxiety faded after the first month; in practice we rarely drive more than {KM} kilometres in
    a day.
body: The city now has more than {NK} public charge points, although they are unevenly spread and the
    outer suburbs have far fewer.
body: Cold weather does reduce range, by roughly {P}% in our experience, so plan longer winter trips with
    a bit of margin.
body: Every bus on the route past our house is now electric, and the difference in noise and fumes at the
    stop is obvious.
body: Some apps show whether a charger is occupied in real time, which has saved me more than one wasted
    journey.
body: Our building management finally agreed to install shared chargers in the garage after {N} months of
    meetings.
body: Battery degradation has been minimal so far: the car still reports about {R}% of its original
    capacity.
body: Payment is the most frustrating part, since nearly every network wants you to install a different
    app.
body: The grid operator is trialling vehicle-to-grid charging, paying owners to feed power back during
    evening peaks.
body: Tyres wear faster than on our old car, probably because of the extra weight and the instant torque.
== reading
title: Why I Went Back to the Public Library
title: My Favourite Books About Cities
title: The Quiet Joy of a Library Card
body: I hadn't been inside a library for nearly ten years, and I was surprised by how busy it was on a
    weekday evening.
body: The online catalogue lets you reserve books from any branch, and they're delivered to the one
    nearest you within a few days.
body: E-book loans have become so popular that waiting lists for new releases can stretch to {X} weeks.
body: The children's section runs story time every {DAY} morning, and it is genuinely chaotic in the best
    possible way.
body: This year I read {N} books, most of them borrowed, which saved me a small fortune.
body: One of my favourites was a history of how the city's harbour shaped its neighbourhoods, full of old
    maps and photographs.
body: Libraries have quietly become community centres, with free Wi-Fi, study rooms, language cafés and
    help with government forms.
body: Late fees were abolished a few years ago, and the number of returned overdue books actually went up
    afterwards.
body: The reading room on the top floor has big windows and no phone calls allowed, which makes it the
    best office in town.
body: If you prefer audiobooks, the library app has a decent selection, although the most popular titles
    are always on loan.
body: Borrowing statistics published by the library show that science books for children are checked out
    more often than adult fiction.
body: A volunteer runs a repair café in the basement once a month, fixing lamps, toasters and the
    occasional bicycle.
body: The branch near my office stays open until {HPM} p.m. on weekdays, which is the only reason I
    manage to use it at all.
== schools
title: Choosing a Primary School When Every Open Day Looks the Same
title: What After-School Clubs Are Really Worth It?
title: Helping Your Kid Learn to Code Without Screens All Day
body: We visited {X} schools in two weeks, and by the end all the open days had blurred into one long
    corridor of colourful displays.
body: Ask how the school handles homework in the early years; policies vary a lot more than the brochures
    suggest.
body: Class sizes in our area are around {N} pupils, which is close to the city average.
body: The after-school robotics club costs about {PRICE} a term and our daughter talks about it
    constantly.
body: Many schools now publish inspection reports and exam results online, but those numbers only tell
    part of the story.
body: Walking to school together has been the unexpected highlight of our mornings, even on the rainy
    days.
body: Unplugged coding activities, like writing instructions for a paper robot, teach the same logic as a
    screen.
body: Teachers told us that reading at home for fifteen minutes a day matters more than any extra
    tutoring.
body: The school's new library was funded partly by a parent-led book sale that raised more than {PRICE}.
body: Admission rules changed this year, so check the catchment map on the education department's website
    carefully.
body: Our son struggled with the move to secondary school at first, mostly because of the longer commute.
body: Free school meals are now offered to all primary pupils, which has made a noticeable difference for
    many families.
body: The drone club at the secondary school builds its own quadcopters and flies them only inside the
    sports hall.
"""

EN_VERTICAL_SRC = """
== health
body: The municipal health commission reported {NK} outpatient visits at community health centres during
    {MON}, an increase of {P}% on the same month last year.
body: Average waiting time for a specialist appointment fell to {N} days after the introduction of a
    city-wide online booking system.
body: Family doctor contracts now cover {R}% of residents aged 65 and over, with priority given to
    patients with chronic conditions.
body: The dataset records visit counts by facility and department; it contains no patient-level
    information.
body: Emergency ambulance response times averaged {N} minutes across urban districts and {N2} minutes in
    outlying areas.
body: Influenza vaccination uptake among healthcare workers reached {R}%, exceeding the annual target.
body: Licensed use of this data is limited to research and service planning under the terms of the data
    sharing agreement.
body: Internet hospital services handled {NK} follow-up consultations, most of them for hypertension and
    diabetes.
== education
body: The education bureau added {NK} public school places this year, most of them in rapidly growing
    residential districts.
body: After-school programmes are now available at every public primary school, and participation has
    reached {R}% of enrolled pupils.
body: Average class size in compulsory education stands at {N} pupils, down from {N2} five years ago.
body: Vocational colleges launched new programmes in drone operation, battery technology and industrial
    robotics.
body: The figures are aggregated at school level and published once per academic year.
body: Teacher training hours increased by {P}%, with a focus on digital teaching tools and classroom use
    of AI assistants.
body: Enrolment in adult continuing education courses rose to {NK}, led by language and IT classes.
== transport
body: Metro ridership averaged {W} million trips per weekday in {MON}, with the highest loads recorded
    between 8 and 9 a.m.
body: On-time performance across all lines was {R}%, and the most common cause of delay was platform door
    faults.
body: The operator introduced {X} additional short-turn services on Line {LINE} to relieve crowding at
    interchange stations.
body: Passenger counts are derived from fare-gate entries and exits and are rounded to the nearest
    hundred.
body: Escalator and lift availability reached {R}% after a maintenance programme completed in the third
    quarter.
body: Night services on weekends carried around {NK} passengers per night, mostly between midnight and 1
    a.m.
body: Contactless fare payments now account for {R}% of all entries, up sharply since QR-code gates were
    installed.
== finance
body: Outstanding loans to small and micro enterprises rose to {NK} million yuan at the end of the
    quarter, up {P}% year on year.
body: The weighted average interest rate on new small-business loans declined by {N} basis points.
body: Member banks processed {W} million digital yuan transactions, mainly in retail, catering and public
    transport.
body: Non-performing loan ratios remained stable at [1.2|1.4|1.7]%, well within regulatory thresholds.
body: Figures are consolidated from member institutions' regulatory returns and exclude any
    customer-level records.
body: Supply chain financing grew fastest among manufacturing firms in the advanced electronics sector.
body: Fraud prevention teams intercepted {NK} suspicious transfers, most of them linked to fake investment
    schemes.
== low_altitude
body: The UAV traffic center processed {NK} flight plan applications this quarter, {R}% of which were
    approved automatically.
body: Logistics operators flew {NK} delivery sorties on {N} approved routes, with an average flight time
    of {MIN} minutes.
body: Two eVTOL prototypes completed {N} cross-bay test flights without incident, reaching a maximum
    altitude of {NN} metres.
body: Temporary flight restrictions were issued {N} times, mostly for large public events and severe
    weather.
body: Unauthorised flights fell by {P}% following the rollout of remote identification requirements.
body: Flight records are aggregated by route and day; operator identities are removed before release.
body: New vertiports are planned near two hospitals and a logistics park, subject to noise and safety
    assessments.
"""

# Licensed-source intros for the Parquet file, in Chinese, per sector.
ZH_VERTICAL_INTRO = {
    "health": [
        "本报告由市卫生健康委员会依据数据共享协议提供，仅限授权机构用于研究和模型训练。",
        "以下内容摘自卫生健康部门的业务统计年报，已去除全部患者个人信息。",
    ],
    "education": [
        "本材料由市教育局授权提供，统计口径与教育事业统计年报保持一致。",
        "以下为教育部门对外授权使用的学校层面汇总数据，不涉及学生个人信息。",
    ],
    "transport": [
        "本数据由地铁运营单位提供，仅供非商业研究使用，转载须注明出处。",
        "以下内容来自轨道交通运营日报的月度汇总，客流数据按闸机进出站记录统计。",
    ],
    "finance": [
        "本报告由银行业联合体成员机构汇总报送，仅限协议约定范围内的研究使用。",
        "以下金融统计数据已在机构层面汇总，不包含任何客户明细。",
    ],
    "low_altitude": [
        "本数据由低空飞行服务中心（无人机交通管理中心）提供，仅供非商业研究使用。",
        "以下飞行统计按航线和日期汇总，运营人和驾驶员身份信息已在发布前删除。",
    ],
}

# Hand-written Japanese and Korean records (partner-city material).
JA_TEXTS = [
    "市営交通の利用状況に関するオープンデータ\n"
    "本データセットは、姉妹都市との交流事業の一環として提供された、市内の地下鉄およびバスの利用状況に関する"
    "統計です。"
    "駅ごとの一日平均乗車人数と、時間帯別の混雑率を月単位で集計しています。\n"
    "今年度上半期の地下鉄の一日平均乗車人数は約百二十万人で、前年同期と比べて三・八パーセント増加しました。"
    "特に平日の朝八時台には、中心部の乗換駅で混雑率が百五十パーセントを超える日もありました。\n"
    "バス路線については、利用者の少ない郊外路線の一部を予約制のデマンド交通に切り替えたことで、"
    "運行コストを抑えつつ高齢者の移動手段を確保しています。データはCSV形式で毎月更新され、出典を明記すれば"
    "商用利用も可能です。",
    "ドローン配送の実証実験について\n"
    "市は今年の秋から、山間部の集落と市街地を結ぶドローン配送の実証実験を始めました。"
    "医薬品や日用品を積んだ機体が、片道およそ十二キロの航路を約十五分で飛行します。\n"
    "実験期間中の飛行回数は二百回を超え、悪天候による欠航を除けば、予定通りに到着した割合は九割以上でした。"
    "住民からは「買い物に行く負担が減った」という声がある一方で、騒音やプライバシーへの不安を指摘する意見も"
    "寄せられています。\n"
    "市は今後、飛行データと住民アンケートの結果を公開し、本格的な導入に向けた課題を整理する予定です。",
    "図書館と防災情報の公開\n"
    "市立図書館では、貸出冊数や来館者数などの統計をオープンデータとして公開しています。"
    "昨年度の貸出冊数は約三百四十万冊で、電子書籍の利用が大きく伸びました。\n"
    "また、災害時に備えて、避難所の位置や収容人数、バリアフリー対応の有無をまとめたデータも整備しました。"
    "地図アプリと連携することで、住民は最寄りの避難所までの経路を事前に確認できます。\n"
    "データの利用にあたっては、クリエイティブ・コモンズ表示4.0国際ライセンスに従い、出典を明記してください。",
]

KO_TEXTS = [
    "공공자전거 이용 현황 데이터\n"
    "이 데이터셋은 자매도시 교류 사업의 일환으로 제공된 공공자전거 대여 기록을 월별로 집계한 것입니다. "
    "대여소별 대여 건수와 반납 건수, 평균 이용 시간이 포함되어 있습니다.\n"
    "올해 상반기 공공자전거 이용 건수는 약 이천만 건으로 작년 같은 기간보다 칠 퍼센트 늘었습니다. "
    "출퇴근 시간대에는 지하철역 주변 대여소의 이용이 특히 많았으며, 주말에는 강변 공원 인근 대여소의 이용이"
    " 크게 증가했습니다.\n"
    "데이터는 매월 갱신되며, 출처를 표시하면 누구나 자유롭게 활용할 수 있습니다.",
    "도심 드론 배송 시범 사업 결과\n"
    "시는 지난 여름부터 아파트 단지와 공원을 중심으로 드론 배송 시범 사업을 운영했습니다. "
    "주민들은 모바일 앱으로 음식과 생활용품을 주문하고, 지정된 드론 스테이션에서 물품을 받았습니다.\n"
    "시범 기간 동안 총 삼천여 건의 배송이 이루어졌으며, 평균 배송 시간은 약 십이 분이었습니다. "
    "강풍이나 비가 내리는 날에는 안전을 위해 운항을 중단했습니다.\n"
    "시는 소음과 사생활 보호에 대한 주민 의견을 반영하여 비행 경로를 조정하고, 내년에는 운영 지역을 확대할 "
    "계획입니다.",
]

# Chinese prose around commands, code and English terms: (topic for the lead-in prose, literal text).
CODE_MIXED: list[tuple[str, str]] = [
    (
        "transport",
        "在本地分析交通数据前，建议先创建虚拟环境并安装依赖：\n"
        "python -m venv .venv && source .venv/bin/activate\n"
        "pip install pandas pyarrow requests\n"
        "安装完成后，可以用pandas的read_parquet直接读取平台导出的Parquet文件，列类型会被自动识别。",
    ),
    (
        "public_service",
        "数据接口服务部署在Kubernetes集群中。如果发现接口响应变慢，运维人员可以先执行 kubectl get pods -n o"
        "pen-data "
        "查看Pod状态，再用 kubectl logs deploy/dataset-api --tail=200 检查最近的错误日志。"
        "若某个Pod处于CrashLoopBackOff状态，通常是ConfigMap挂载失败导致的。",
    ),
    (
        "transport",
        "下面的SQL语句按区统计了上半年工作日的平均客流：\n"
        "SELECT district, AVG(daily_riders) AS avg_riders\n"
        "FROM metro_station_daily\n"
        "WHERE service_date BETWEEN '2026-01-01' AND '2026-06-30' AND is_workday = 1\n"
        "GROUP BY district\n"
        "ORDER BY avg_riders DESC;\n"
        "查询结果显示，中心城区站点的平均客流明显高于外围站点。",
    ),
    (
        "environment",
        "开放平台提供RESTful API，调用示例如下：\n"
        'curl -H "Authorization: Bearer $TOKEN" "https://api.example.gov.cn/v1/datasets?topic=environment&page=1"\n'
        "返回结果为JSON格式，其中total字段表示数据集总数，items字段包含每个数据集的标题、更新时间和下载链接"
        "。",
    ),
    (
        "environment",
        "以下Python代码演示了如何计算空气质量优良率：\n"
        "import pandas as pd\n"
        'df = pd.read_csv("aqi_daily.csv")\n'
        'good = (df["aqi"] <= 100).mean()\n'
        'print(f"优良率: {good:.1%}")\n'
        "注意原始数据中缺测的日期用空值表示，计算前需要先用dropna()去掉这些行。",
    ),
    (
        "public_service",
        "我们把数据清洗流程打包成了Docker镜像。在服务器上执行 docker compose up -d 即可启动全部服务，"
        "执行 docker compose ps 可以查看容器状态。默认配置下，清洗任务每天凌晨两点自动运行一次，日志写入/va"
        "r/log/etl目录。",
    ),
    (
        "public_service",
        "数据字段说明文档托管在代码仓库中，贡献者可以先运行 git clone https://git.example.gov.cn/open-data/"
        "schema.git，"
        "修改后通过 git checkout -b fix/field-desc 新建分支并提交merge request。审核通过后，文档网站会自动"
        "重新构建。",
    ),
    (
        "low_altitude",
        "每条无人机飞行计划记录的格式如下：\n"
        '{"plan_id": "FP-2026-000381", "aircraft_type": "multirotor", '
        '"max_altitude_m": 120, "status": "approved"}\n'
        "其中max_altitude_m表示计划最大飞行高度，单位为米；status字段的取值包括pending、approved和rejected。",
    ),
    (
        "transport",
        "处理大文件时，可以先用命令行工具快速查看数据：\n"
        "head -n 5 bus_gps_20261101.csv\n"
        "wc -l bus_gps_20261101.csv\n"
        "如果文件是gzip压缩的，可以改用 zcat bus_gps_20261101.csv.gz | head 查看前几行，避免一次性解压占用"
        "磁盘。",
    ),
    (
        "transport",
        "全年的公交刷卡数据量较大，单机处理比较吃力，建议使用Spark：\n"
        "spark-submit --master yarn --num-executors 20 etl_card_swipe.py --date 2026-10-01\n"
        "作业完成后，结果会写入HDFS上的/warehouse/transport/card_swipe_daily目录，并按日期分区存储。",
    ),
    (
        "environment",
        "数据质量检查规则写在YAML配置文件中，例如：\n"
        "rules:\n"
        "  - column: pm25\n"
        "    check: range\n"
        "    min: 0\n"
        "    max: 1000\n"
        "当某一行的pm25取值超出范围时，该行会被标记为可疑数据，并在质量报告中单独列出。",
    ),
    (
        "public_service",
        "很多同事习惯用Excel打开CSV文件，但如果文件编码是UTF-8 without BOM，中文可能显示为乱码。"
        "建议在导入时选择“数据→从文本/CSV”，并把File Origin设置为65001: Unicode (UTF-8)。"
        "另外，证件号码之类的长数字列应设置为Text格式，否则会被自动转换成科学计数法。",
    ),
    (
        "transport",
        "在训练交通流量预测模型时，我们比较了LightGBM和Transformer两种方案。LightGBM的baseline在验证集上的M"
        "APE为8.7%，"
        "而Transformer模型在加入天气特征后降到了6.9%。训练命令如下：\n"
        "python train.py --model transformer --epochs 30 --batch-size 256 --lr 3e-4\n"
        "所有实验的random seed都固定为42，以便复现结果。",
    ),
    (
        "public_service",
        "排查接口异常时，我们在Nginx访问日志中发现了大量重复请求：\n"
        '{IP4} - - [24/Nov/2026:15:30:00 +0800] "GET /v1/datasets/transport HTTP/1.1" 429 153\n'
        "这说明限流策略已经生效：同一来源每分钟超过600次请求时，网关会直接返回HTTP 429。",
    ),
    (
        "low_altitude",
        "无人机企业接入低空飞行服务平台时，需要先在开发者控制台申请App Key，然后调用SDK上报实时位置：\n"
        'client = UTMClient(app_key=APP_KEY, region="shenzhen")\n'
        "client.report_position(lat=22.54, lon=114.06, alt_m=80, speed_ms=12.5)\n"
        "位置上报频率不低于每秒一次，断线超过30秒的飞行器会被系统标记为失联。",
    ),
]

# Bilingual rows for the Parquet file: (sector, Chinese, English) sharing the same slot values.
BILINGUAL: list[tuple[str, str, str]] = [
    (
        "health",
        "全市社区健康服务中心已全部接入电子健康档案系统，居民可以通过手机查询本人的体检和就诊记录。"
        "今年新增签约家庭医生团队{A}个。",
        "All community health centres in the city are now connected to the electronic health record "
        "system, and residents can view their own check-up and visit records on their phones. "
        "{A} new family doctor teams were contracted this year.",
    ),
    (
        "transport",
        "地铁运营方在早晚高峰时段加开了{A}列次区间车，以缓解换乘站的拥挤。站台门故障仍是延误的主要原因。",
        "During the morning and evening peaks the metro operator added {A} short-turn services to relieve "
        "crowding at interchange stations. Platform door faults remain the main cause of delays.",
    ),
    (
        "low_altitude",
        "低空飞行服务中心本季度共批准飞行计划{B}份，其中物流配送占比最高。夜间飞行仍需逐一人工审核。",
        "This quarter the low-altitude flight service centre approved {B} flight plans, with logistics "
        "deliveries accounting for the largest share. Night flights are still reviewed manually, one by one.",
    ),
    (
        "education",
        "本市中小学全面开设人工智能通识课程，每学期不少于{A}课时，教材由教育局统一审定。",
        "Primary and secondary schools across the city now offer a general course on artificial "
        "intelligence, with at least {A} class hours per term and textbooks approved by the education burea"
        "u.",
    ),
]

# Boilerplate shared by the hard negatives (different bodies, same long header and footer).
ZH_DISCLAIMER_HEAD = (
    "【免责声明】本文由城市数据管理局汇编发布，仅供研究与开发使用，不代表任何政府机构的正式立场。"
    "数据在采集、清洗和脱敏过程中可能存在误差，使用者应自行核实并承担相应责任。"
)
ZH_DISCLAIMER_FOOT = (
    "如对本文内容有疑问或发现质量问题，请通过开放平台的“意见反馈”栏目提交，我们将在五个工作日内答复。"
    "本文按照CC BY 4.0协议发布，转载或再利用时请注明出处。"
)
EN_DISCLAIMER_HEAD = (
    "Disclaimer: This page is republished by the City Data Agency for research and development purposes "
    "only and does not represent the official position of any government body. Figures may contain errors "
    "introduced during collection, cleaning and anonymisation, and readers should verify them before use."
)
EN_DISCLAIMER_FOOT = (
    "Questions or corrections? Use the feedback form on the open data portal and we will reply within five "
    "working days. This text is released under CC BY 4.0; please credit the City Data Agency when you reuse"
    " it."
)

# PII sentence templates. {MOBILE} {MOBILE_INTL} {TEL} {EMAIL} {ID} {CARD} {USCC} {IP4} {IP6} are PII.
ZH_PII_GLUED = [
    "如需预约，请拨打{MOBILE}咨询，工作时间为周一至周五。",
    "联系人王女士，手机{MOBILE}，也可发送邮件至{EMAIL}。",
    "办公电话{TEL}，传真同号，来访请提前预约。",
    "经核验，申请人身份证号码{ID}与户籍信息一致。",
    "补贴资金已发放至申请人银行卡{CARD}，请注意查收。",
    "该企业统一社会信用代码为{USCC}，注册地址位于{D}。",
    "系统日志显示异常请求来自{IP4}，随后又有来自{IP6}的重试。",
    "投诉人李先生（身份证号{ID}，联系电话{MOBILE}）反映小区夜间施工噪声问题。",
    "退款已原路退回至银行卡{CARD}，如有疑问请致电{TEL}。",
    "经查，涉事商户统一社会信用代码{USCC}，已责令限期整改。",
]
ZH_PII_SPACED = [
    "如需预约，请拨打 {MOBILE} 咨询，工作时间为周一至周五。",
    "联系人：陈先生，电话 {TEL}，邮箱 {EMAIL} 。",
    "境外来电请拨打 {MOBILE_INTL} ，客服人员将在工作时间内回复。",
    "申请人身份证号 {ID} ，已通过人脸识别核验。",
    "退款账户为 {CARD} ，预计三个工作日内到账。",
    "承建单位统一社会信用代码 {USCC} ，项目负责人已完成备案。",
    "访问来源 IP 为 {IP4} ，备用线路地址为 {IP6} 。",
    "报名材料请发送至 {EMAIL} ，邮件标题注明姓名和单位。",
    "持卡人证件号码 {ID} ，工资卡卡号 {CARD} ，已完成信息变更。",
]
EN_PII = [
    "For bookings, call {MOBILE_INTL} or email {EMAIL}.",
    "You can reach the project coordinator at {EMAIL} or on {TEL} during office hours.",
    "The server log showed repeated requests from {IP4} and later from {IP6}.",
    "The refund was issued to card number {CARD}, according to the receipt the reader sent us.",
    "The contractor's unified social credit code, {USCC}, is printed on the permit notice.",
    "The lost wallet handed in at the library contained an ID card numbered {ID}.",
    "Text the volunteer organiser on {MOBILE} if you would like to join the next clean-up.",
]
# Decoys: long numbers and dotted strings that are NOT personal data.
ZH_DECOYS = [
    "您的订单号为{ORDER}，商品预计三个工作日内送达。",
    "档案编号{BADID}已归档，查询时请提供完整编号。",
    "本次升级将网关固件更新到版本 {VER}，升级后需要重启设备。",
    "参考书目：《城市数据治理实践》，ISBN {ISBN}。",
    "数据快照生成时间为{TS}，时区为东八区。",
    "工单编号{ORDER}已转交属地街道处理。",
    "客户端需升级至 {VER} 及以上版本才能使用离线地图功能。",
]
EN_DECOYS = [
    "Your order number is {ORDER}; please quote it in any correspondence.",
    "The router firmware was updated to version {VER} last night, which fixed the Wi-Fi dropouts.",
    "Further reading: the field guide we mentioned has ISBN {ISBN}.",
    "The nightly export is named backup_{TS}.tar, using a fourteen-digit timestamp.",
    "Archive reference {BADID} is printed on the back of the old permit.",
]

PII_SLOT_TYPES = {
    "MOBILE": "PHONE_NUMBER",
    "MOBILE_INTL": "PHONE_NUMBER",
    "TEL": "PHONE_NUMBER",
    "EMAIL": "EMAIL_ADDRESS",
    "ID": "CN_ID_CARD",
    "CARD": "BANK_CARD",
    "USCC": "CN_USCC",
    "IP4": "IP_ADDRESS",
    "IP6": "IP_ADDRESS",
}

# Slot pools ------------------------------------------------------------------------------------
DISTRICTS = [
    "福田区",
    "罗湖区",
    "南山区",
    "宝安区",
    "龙岗区",
    "龙华区",
    "坪山区",
    "光明区",
    "盐田区",
    "大鹏新区",
]
ROADS = [
    "深南大道",
    "滨海大道",
    "北环大道",
    "福华路",
    "科苑路",
    "侨香路",
    "宝安大道",
    "布吉路",
    "龙岗大道",
    "南坪快速",
]
STATIONS = [
    "车公庙",
    "会展中心",
    "福田口岸",
    "深圳北站",
    "前海湾",
    "岗厦北",
    "华强北",
    "西丽",
    "大剧院",
    "布吉",
]
HOSPITALS = ["市人民医院", "区中心医院", "市儿童医院", "区妇幼保健院", "市中医院", "区人民医院"]
PARKS = ["深圳湾公园", "莲花山公园", "红树林生态公园", "梧桐山", "大沙河生态长廊", "人才公园"]
RIVERS = ["深圳河", "茅洲河", "观澜河", "龙岗河", "坪山河", "大沙河"]
STREETS = [
    "梅林街道",
    "沙河街道",
    "西乡街道",
    "坂田街道",
    "民治街道",
    "观澜街道",
    "松岗街道",
    "布吉街道",
    "粤海街道",
]
TYPHOONS = ["海燕", "苏拉", "木兰", "海鸥", "白鹭", "玉兔"]
CITIES = [
    "Lisbon",
    "Portland",
    "Melbourne",
    "Shenzhen",
    "Kraków",
    "Montreal",
    "Osaka",
    "Valencia",
    "Austin",
    "Edinburgh",
    "Singapore",
    "Vancouver",
    "Seville",
    "Porto",
    "Busan",
    "Hong Kong",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DISHES = [
    "ginger scallion noodles",
    "tomato and egg stir-fry",
    "mapo tofu",
    "chickpea curry",
    "fried rice",
    "lentil soup",
    "sesame chicken",
    "vegetable dumplings",
]
VEGETABLES = ["bok choy", "broccoli", "spinach", "eggplant", "zucchini", "green beans", "cabbage"]

ID_REGIONS = [
    "440304",
    "440305",
    "440306",
    "440307",
    "440303",
    "440309",
    "110105",
    "310115",
    "330106",
    "510107",
    "420106",
    "440106",
    "350203",
    "320106",
]
MOBILE_PREFIXES = ["138", "139", "135", "136", "150", "151", "158", "186", "187", "177", "199", "166", "181"]
EMAIL_USERS = [
    "zhangwei",
    "li.na",
    "wang_fang",
    "chen.jing",
    "liu.yang",
    "service",
    "huang.min",
    "zhao.lei",
    "apply",
    "xu.ting",
    "j.smith",
    "maria.lopez",
    "volunteers",
    "events",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "sz-health.example.org"]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


# ---------------------------------------------------------------------------------------------
# Template parsing and rendering
# ---------------------------------------------------------------------------------------------

_ALT_RE = re.compile(r"\[([^\[\]]+)\]")
_SLOT_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


def parse_templates(src: str, joiner: str) -> dict[str, dict[str, list[str]]]:
    """Parse a template block into ``{topic: {"title"|"intro"|"body"|"close": [template, ...]}}``."""
    topics: dict[str, dict[str, list[str]]] = {}
    current: list[str] | None = None
    section: dict[str, list[str]] = {}
    for line in src.splitlines():
        if not line.strip():
            continue
        if line.startswith("== "):
            section = topics.setdefault(line[3:].strip(), {"title": [], "intro": [], "body": [], "close": []})
            current = None
        elif line.startswith("    "):
            if current is None:
                raise ValueError(f"continuation without template: {line!r}")
            current[-1] = current[-1] + joiner + line.strip()
        else:
            kind, _, text = line.partition(": ")
            current = section[kind]
            current.append(text.strip())
    return topics


def render(tpl: str, rng: random.Random, ctx: Mapping[str, str], slots: Slots) -> str:
    """Fill ``[a|b]`` alternatives and ``{SLOT}`` values (context first, then slot generators)."""
    tpl = _ALT_RE.sub(lambda m: rng.choice(m.group(1).split("|")), tpl)

    def fill(m: re.Match[str]) -> str:
        key = m.group(1)
        return ctx[key] if key in ctx else slots[key](rng)

    return _SLOT_RE.sub(fill, tpl)


def _pct(lo: float, hi: float) -> Callable[[random.Random], str]:
    return lambda r: f"{r.uniform(lo, hi):.1f}"


def _int(lo: int, hi: int, comma: bool = False) -> Callable[[random.Random], str]:
    return lambda r: f"{r.randint(lo, hi):,}" if comma else str(r.randint(lo, hi))


ZH_SLOTS: Slots = {
    "N": _int(3, 60),
    "N2": _int(3, 60),
    "NN": _int(100, 990),
    "NK": _int(1200, 98000),
    "W": _pct(0.5, 99.9),
    "P": _pct(1.0, 35.0),
    "R": _pct(60.0, 99.8),
    "X": _int(1, 9),
    "MIN": _int(5, 45),
    "HN": _int(21, 23),
}
EN_SLOTS: Slots = {
    "N": _int(3, 40),
    "N2": _int(3, 40),
    "NN": _int(100, 990),
    "NK": _int(1200, 98000, comma=True),
    "W": _pct(1.1, 9.9),
    "P": _pct(2.0, 35.0),
    "R": _pct(60.0, 99.8),
    "X": _int(2, 9),
    "MIN": _int(5, 45),
    "KM": _int(3, 60),
    "KG": _int(5, 40),
    "H": _int(7, 9),
    "HPM": _int(8, 10),
    "PRICE": lambda r: f"${r.randint(5, 250)}",
    "MONEY": lambda r: f"${r.randint(1200, 4999):,}",
    "LINE": _int(1, 16),
}


def zh_context(rng: random.Random) -> dict[str, str]:
    """Per-document values, so that one document talks about one district, one year, one road..."""
    d, d2 = rng.sample(DISTRICTS, 2)
    road, road2 = rng.sample(ROADS, 2)
    line, line2 = rng.sample(range(1, 21), 2)
    year = rng.randint(2023, 2026)
    return {
        "D": d,
        "D2": d2,
        "Y": str(year),
        "Y0": str(year - 1),
        "M": str(rng.randint(1, 12)),
        "Q": "一二三四"[rng.randrange(4)],
        "ROAD": road,
        "ROAD2": road2,
        "LINE": str(line),
        "LINE2": str(line2),
        "STATION": rng.choice(STATIONS),
        "HOSP": rng.choice(HOSPITALS),
        "PARK": rng.choice(PARKS),
        "RIVER": rng.choice(RIVERS),
        "STREET": rng.choice(STREETS),
        "TYPHOON": rng.choice(TYPHOONS),
    }


def en_context(rng: random.Random) -> dict[str, str]:
    year = rng.randint(2023, 2026)
    return {
        "CITY": rng.choice(CITIES),
        "DAY": rng.choice(DAYS),
        "MON": rng.choice(MONTHS),
        "Y": str(year),
        "Y0": str(year - 3),
        "DISH": rng.choice(DISHES),
        "VEG": rng.choice(VEGETABLES),
    }


# ---------------------------------------------------------------------------------------------
# Synthetic identifiers with valid (or deliberately invalid) check digits
# ---------------------------------------------------------------------------------------------


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def cn_id_check(body17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2)."""
    s = sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11
    return "10X98765432"[s]


def cn_id_body(rng: random.Random) -> str:
    birth = date(1958, 1, 1) + timedelta(days=rng.randrange(0, 17000))
    return rng.choice(ID_REGIONS) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"


def make_cn_id(rng: random.Random, want_x: bool = False) -> str:
    """A valid 18-character ID number (real region, real date); never also a Luhn-valid number."""
    while True:
        body = cn_id_body(rng)
        value = body + cn_id_check(body)
        if (value.endswith("X") == want_x) and not luhn_valid(value):
            return value


def make_bad_cn_id(rng: random.Random) -> str:
    """Looks like an ID number but carries a wrong check digit (and fails Luhn too)."""
    while True:
        body = cn_id_body(rng)
        good = cn_id_check(body)
        wrong = rng.choice([c for c in "0123456789" if c != good])
        value = body + wrong
        if not luhn_valid(value):
            return value


def make_bank_card(rng: random.Random, length: int) -> str:
    prefix = rng.choice(
        ["622202", "621700", "623668", "625908", "622848", "4" + str(rng.randint(10000, 99999))]
    )
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def org_code_check(body8: str) -> str:
    """GB 11714 organisation-code check character."""
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    c9 = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def uscc_check(body17: str) -> str:
    """GB 32100-2015 check character (mod 31 over the 31-character alphabet)."""
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - s % 31) % 31]


def make_uscc(rng: random.Random) -> str:
    head = rng.choice(["91", "91", "91", "92", "12", "52"])
    region = rng.choice(["440300", "440304", "440305", "440306", "440307", "110108", "310115"])
    org_chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    org_head = "MA5" if rng.random() < 0.6 else f"{rng.randint(10, 99)}A"
    org_body = org_head + "".join(rng.choice(org_chars) for _ in range(5))
    org = org_body + org_code_check(org_body)
    body = head + region + org
    return body + uscc_check(body)


def make_mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(8))


def make_mobile_intl(rng: random.Random) -> str:
    m = make_mobile(rng)
    return rng.choice([f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"+86{m}", f"+86-{m}"])


def make_landline(rng: random.Random) -> str:
    area = rng.choice(["0755", "0755", "0755", "010", "020", "021"])
    digits = str(rng.randint(2, 8)) + "".join(str(rng.randrange(10)) for _ in range(7))
    return rng.choice([f"{area}-{digits}", f"({area}){digits}"]) if area == "0755" else f"{area}-{digits}"


def make_email(rng: random.Random) -> str:
    user = rng.choice(EMAIL_USERS)
    if rng.random() < 0.4:
        user += str(rng.randint(1, 99))
    return f"{user}@{rng.choice(EMAIL_DOMAINS)}"


def make_ipv4(rng: random.Random) -> str:
    net = rng.choice(["203.0.113", "198.51.100", "192.0.2"])
    return f"{net}.{rng.randint(2, 254)}"


def make_ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randrange(1, 0xFFFF):x}" for _ in range(3)]
    return f"2001:db8:{groups[0]}:{groups[1]}::{groups[2]}"


def isbn13(rng: random.Random) -> str:
    publisher = rng.choice(["111", "302", "5086", "115", "5217"])
    title_len = 9 - len(publisher)
    title = "".join(str(rng.randrange(10)) for _ in range(title_len))
    digits = "9787" + publisher + title
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    return f"978-7-{publisher}-{title}-{check}"


def make_order(rng: random.Random) -> str:
    while True:
        if rng.random() < 0.5:
            value = "2026" + "".join(str(rng.randrange(10)) for _ in range(16))  # 20 digits
            if not luhn_valid(value):
                return value
        else:
            return f"SO-2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(1, 99999):05d}"


def make_version(rng: random.Random) -> str:
    return f"{rng.randint(2, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(1, 40)}"


def make_timestamp(rng: random.Random) -> str:
    moment = datetime(2026, 1, 1) + timedelta(seconds=rng.randrange(0, 330 * 86400))
    return moment.strftime("%Y%m%d%H%M%S")


PII_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "MOBILE": make_mobile,
    "MOBILE_INTL": make_mobile_intl,
    "TEL": make_landline,
    "EMAIL": make_email,
    "ID": lambda r: make_cn_id(r, want_x=r.random() < 0.25),
    "CARD": lambda r: make_bank_card(r, r.choice([16, 16, 17, 19])),
    "USCC": make_uscc,
    "IP4": make_ipv4,
    "IP6": make_ipv6,
}
DECOY_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "ORDER": make_order,
    "BADID": make_bad_cn_id,
    "VER": make_version,
    "ISBN": isbn13,
    "TS": make_timestamp,
}


def fill_special(
    tpl: str, rng: random.Random, makers: Mapping[str, Callable[[random.Random], str]]
) -> tuple[str, list[tuple[str, str]]]:
    """Fill PII/decoy slots; return the text and ``[(slot, value), ...]``. Other slots are left."""
    found: list[tuple[str, str]] = []

    def fill(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in makers:
            return m.group(0)
        value = makers[key](rng)
        found.append((key, value))
        return value

    return _SLOT_RE.sub(fill, tpl), found


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


@dataclass
class Rec:
    text: str
    lang: str | None
    kinds: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    pii: dict[str, int] = field(default_factory=dict)
    pii_values: dict[str, list[str]] = field(default_factory=dict)
    decoys: list[str] = field(default_factory=list)
    dup_src: Rec | None = None
    note: str = ""
    id: str = ""
    glued: int = 0  # PII values glued to CJK text without a space


def shingles(text: str, n: int = 5) -> frozenset[str]:
    t = " ".join(text.lower().split())
    return frozenset(t[i : i + n] for i in range(max(1, len(t) - n + 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class Registry:
    """Keeps generated documents pairwise dissimilar (so that only planted duplicates are duplicates)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.sets: list[frozenset[str]] = []

    def max_sim(self, text: str) -> float:
        s = shingles(text)
        return max((jaccard(s, other) for other in self.sets), default=0.0)

    def add(self, text: str) -> None:
        self.sets.append(shingles(text))

    def accept(self, make: Callable[[], T], text_of: Callable[[T], str] = str, tries: int = 40) -> T:
        """Call ``make`` until its text is below the similarity limit (or keep the least similar)."""
        best: T | None = None
        best_sim = 2.0
        for _ in range(tries):
            item = make()
            sim = self.max_sim(text_of(item))
            if sim < best_sim:
                best, best_sim = item, sim
            if sim < self.limit:
                break
        assert best is not None
        self.add(text_of(best))
        return best


class Gen:
    """All generators share one seeded random stream, in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.zh = parse_templates(ZH_TOPICS_SRC, "")
        self.zh_close = self.zh.pop("close")["close"]
        self.hant = parse_templates(ZH_HANT_SRC, "")
        self.en = parse_templates(EN_TOPICS_SRC, " ")
        self.en_vert = parse_templates(EN_VERTICAL_SRC, " ")
        self.zh_reg = Registry(MAX_ORIGINAL_SIMILARITY)
        self.en_reg = Registry(MAX_ORIGINAL_SIMILARITY)

    # -- Chinese -------------------------------------------------------------------------------
    def zh_paragraphs(
        self, topics: list[str], target: int, ctx: dict[str, str], title: bool = True, close: bool = True
    ) -> list[str]:
        rng = self.rng
        main = self.zh[topics[0]]
        paras: list[str] = []
        if title and rng.random() < 0.7:
            paras.append(render(rng.choice(main["title"]), rng, ctx, ZH_SLOTS))
        pool = [(t, s) for t in topics for s in self.zh[t]["body"]]
        rng.shuffle(pool)
        if len(topics) > 1:  # composite report: keep each topic's sentences together
            pool.sort(key=lambda ts: topics.index(ts[0]))
        sentences = [render(rng.choice(main["intro"]), rng, ctx, ZH_SLOTS)]
        size = len(sentences[0])
        for _, tpl in pool:
            s = render(tpl, rng, ctx, ZH_SLOTS)
            if size + len(s) > target:
                break
            sentences.append(s)
            size += len(s)
        i = 0
        while i < len(sentences):
            k = rng.randint(2, 4)
            paras.append("".join(sentences[i : i + k]))
            i += k
        if close and rng.random() < 0.6:
            paras.append(render(rng.choice(self.zh_close), rng, ctx, ZH_SLOTS))
        return paras

    def zh_doc(self, topic: str, target: int | None = None) -> str:
        rng = self.rng

        def make() -> str:
            t = target if target is not None else rng.choice([rng.randint(220, 500), rng.randint(300, 900)])
            ctx = zh_context(rng)
            text = "\n".join(self.zh_paragraphs([topic], t, ctx))
            return text[:1500]

        return self.zh_reg.accept(make)

    def zh_composite(self) -> str:
        rng = self.rng

        def make() -> str:
            topics = rng.sample(sorted(self.zh), 3)
            ctx = zh_context(rng)
            head = f"{ctx['D']}{ctx['Y']}年公共服务主要数据摘要"
            intro = (
                f"本摘要汇总了{ctx['Y']}年{ctx['D']}在多个公共服务领域的主要开放数据，供研究人员和市民参考。"
            )
            paras = [head, intro]
            for t in topics:
                paras += self.zh_paragraphs([t], rng.randint(300, 420), ctx, title=False, close=False)
            text = "\n".join(paras)
            return text[:1500]

        return self.zh_reg.accept(make)

    def hant_doc(self, region: str) -> str:
        rng = self.rng
        pool = self.hant[region]

        def make() -> str:
            ctx = zh_context(rng)
            sents = [render(t, rng, ctx, ZH_SLOTS) for t in rng.sample(pool["body"], rng.randint(5, 8))]
            paras = [render(rng.choice(pool["title"]), rng, ctx, ZH_SLOTS)]
            i = 0
            while i < len(sents):
                k = rng.randint(2, 3)
                paras.append("".join(sents[i : i + k]))
                i += k
            return "\n".join(paras)

        return self.zh_reg.accept(make)

    # -- English -------------------------------------------------------------------------------
    def en_paragraphs(self, topic: str, n_sent: int, ctx: dict[str, str], title: bool = True) -> list[str]:
        rng = self.rng
        t = self.en[topic]
        paras: list[str] = []
        if title and rng.random() < 0.75:
            paras.append(render(rng.choice(t["title"]), rng, ctx, EN_SLOTS))
        sents = [render(s, rng, ctx, EN_SLOTS) for s in rng.sample(t["body"], min(n_sent, len(t["body"])))]
        i = 0
        while i < len(sents):
            k = rng.randint(1, 3)
            paras.append(" ".join(sents[i : i + k]))
            i += k
        return paras

    def en_doc(self, topic: str, n_sent: tuple[int, int] = (4, 8)) -> str:
        rng = self.rng

        def make() -> str:
            ctx = en_context(rng)
            return "\n".join(self.en_paragraphs(topic, rng.randint(*n_sent), ctx))

        return self.en_reg.accept(make)

    def en_vertical_doc(self, sector: str) -> str:
        rng = self.rng
        pool = self.en_vert[sector]["body"]

        def make() -> str:
            ctx = en_context(rng)
            ctx["LINE"] = str(rng.randint(1, 16))
            sents = [render(s, rng, ctx, EN_SLOTS) for s in rng.sample(pool, rng.randint(3, 5))]
            cut = rng.randint(1, len(sents) - 1)
            return " ".join(sents[:cut]) + "\n" + " ".join(sents[cut:])

        return self.en_reg.accept(make)


# ---------------------------------------------------------------------------------------------
# Perturbations: duplicates with whitespace/case noise, near duplicates with small edits
# ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """What the noisy exact duplicates are equal to their sources under."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def noisy_zh(text: str, rng: random.Random, variant: int) -> str:
    if variant == 0:  # full-width indentation at paragraph starts, trailing half-width spaces
        return "\u3000\u3000" + text.replace("\n", "  \n\u3000\u3000") + "  "
    # half-width and full-width space runs around line breaks, doubled breaks
    return " " + text.replace("\n", " \u3000\n\n ") + "\u3000"


def noisy_en(text: str, rng: random.Random, variant: int) -> str:
    words = text.split(" ")
    if variant == 0:  # title line upper-cased, doubled spaces
        lines = text.split("\n")
        lines[0] = lines[0].upper()
        return "  ".join("\n".join(lines).split(" "))
    if variant == 1:  # random words with flipped case, trailing spaces on lines
        out = [w.swapcase() if rng.random() < 0.15 else w for w in words]
        return " \n".join(" ".join(out).split("\n")) + "   "
    # all lower case, tabs and non-breaking-free extra spaces
    return "\t" + text.lower().replace(". ", ".   ") + "\n"


def edit_count(rate: float, n: int) -> int:
    """Number of edits for ``rate`` of ``n`` units, kept within 2-5% of ``n``."""
    return min(max(round(rate * n), math.ceil(0.02 * n)), max(1, math.floor(0.05 * n)))


def edit_zh(text: str, rng: random.Random, rate: float, pool: list[str]) -> tuple[str, int, int]:
    """Edit ``rate`` of the CJK characters (substitute/delete/insert); return text, edits, CJK count."""
    chars = list(text)
    cjk = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
    k = edit_count(rate, len(cjk))
    for i in sorted(rng.sample(cjk, k), reverse=True):
        op = rng.random()
        if op < 0.6:
            repl = rng.choice(pool)
            while repl == chars[i]:
                repl = rng.choice(pool)
            chars[i] = repl
        elif op < 0.8:
            del chars[i]
        else:
            chars.insert(i, rng.choice(pool))
    return "".join(chars), k, len(cjk)


def edit_en(text: str, rng: random.Random, rate: float, vocab: list[str]) -> tuple[str, int, int]:
    lines = [line.split(" ") for line in text.split("\n")]
    positions = [(li, wi) for li, line in enumerate(lines) for wi in range(len(line))]
    k = edit_count(rate, len(positions))
    for li, wi in sorted(rng.sample(positions, k), reverse=True):
        op = rng.random()
        if op < 0.6:
            lines[li][wi] = rng.choice([v for v in vocab if v != lines[li][wi]])
        elif op < 0.8 and len(lines[li]) > 1:
            del lines[li][wi]
        else:
            lines[li].insert(wi, rng.choice(vocab))
    return "\n".join(" ".join(line) for line in lines), k, len(positions)


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------

ZH_LOW_QUALITY = {
    "short": "暂无数据。",
    "nav": "\n".join(["首页 | 关于我们 | 新闻中心 | 数据目录 | 联系我们 | 网站地图"] * 12),
    "repeat": "\n".join(["欢迎访问市政府数据开放平台"] * 40),
    "spam": "\n".join(
        ["★★★限时特惠！！！￥￥￥ >>>点击领取<<< 【免费】【免费】【免费】 ###### $$$ @@@ %%% ～～～ ↑↑↑↓↓↓"]
        * 6
    ),
}
EN_LOW_QUALITY = {
    "short": "Click here.",
    "nav": "\n".join(["Home | About | Contact | Privacy | Terms | Sitemap"] * 15),
    "repeat": "\n".join(["Subscribe to our newsletter for the latest updates!"] * 30),
    "spam": "\n".join(
        ["!!!BEST DEAL!!! $$$ >>> CLICK NOW <<< *** FREE FREE FREE *** ### ~~~ @@@ +++ ==="] * 8
    ),
    "filler": (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
        "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
        "aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse "
        "cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in "
        "culpa qui officia deserunt mollit anim id est laborum.\nLorem ipsum dolor sit amet, consectetur "
        "adipiscing elit. Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
    ),
}

ZH_URL_TOPIC = {
    "transport": "jtys",
    "health": "wjw",
    "education": "jyj",
    "finance": "jrj",
    "low_altitude": "dkjj",
    "environment": "sthj",
    "housing": "zjj",
    "public_service": "zsj",
    "employment": "rsj",
    "culture_tourism": "wtl",
    "weather_emergency": "yjgl",
    "energy_water": "swj",
}


class DemoBuilder:
    def __init__(self, seed: int = SEED) -> None:
        self.g = Gen(seed)
        self.rng = self.g.rng
        self._ds = 1000
        self._turn: dict[int, int] = {}

    def zh_meta(
        self, topic: str, source: str = "sz-open-data", host: str = "data.example.gov.cn"
    ) -> dict[str, Any]:
        self._ds += self.rng.randint(1, 37)
        return {
            "source": source,
            "license": "CC-BY-4.0",
            "url": f"https://{host}/{ZH_URL_TOPIC.get(topic, topic)}/dataset-{self._ds}",
            "topic": topic,
        }

    def en_meta(self, topic: str, text: str) -> dict[str, Any]:
        rng = self.rng
        words = re.findall(r"[a-z]+", text.split("\n")[0].lower())[:6]
        host = rng.choice(["blog", "news", "www", "forum", "notes", "cityguide"])
        meta: dict[str, Any] = {
            "source": "web-crawl-2026-10",
            "license": rng.choice(
                ["CC-BY-4.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-SA-4.0", "CC0-1.0", "MIT"]
            ),
            "url": f"https://{host}.example.com/{rng.randint(2019, 2026)}/{'-'.join(words) or 'post'}",
            "topic": topic,
        }
        if rng.random() < 0.07:
            del meta["license"]
        return meta

    def insert_sentences(self, paras: list[str], sentences: list[str], joiner: str) -> list[str]:
        """Insert sentences into random non-title paragraphs (appended to the paragraph end)."""
        rng = self.rng
        paras = list(paras)
        for s in sentences:
            i = rng.randrange(1, len(paras)) if len(paras) > 1 else 0
            paras[i] = paras[i] + joiner + s if paras[i] else s
        return paras

    def next_templates(self, templates: list[str], count: int) -> list[str]:
        """Templates in turn (per list), so that every entity type and form gets used."""
        start = self._turn.get(id(templates), 0)
        self._turn[id(templates)] = start + count
        return [templates[(start + i) % len(templates)] for i in range(count)]

    def pii_sentences(
        self, templates: list[str], count: int, ctx: dict[str, str], slots: Slots
    ) -> tuple[list[str], Rec]:
        rng = self.rng
        holder = Rec(text="", lang=None, kinds=[])
        out = []
        for tpl in self.next_templates(templates, count):
            text, found = fill_special(tpl, rng, PII_MAKERS)
            out.append(render(text, rng, ctx, slots))
            for slot, value in found:
                etype = PII_SLOT_TYPES[slot]
                holder.pii[etype] = holder.pii.get(etype, 0) + 1
                holder.pii_values.setdefault(etype, []).append(value)
        return out, holder

    def decoy_sentences(self, templates: list[str], count: int) -> tuple[list[str], list[str]]:
        out, values = [], []
        for tpl in self.next_templates(templates, count):
            text, found = fill_special(tpl, self.rng, DECOY_MAKERS)
            out.append(text)
            values += [v for _, v in found]
        return out, values

    # -- a) open_data_zh.jsonl.gz ---------------------------------------------------------------
    def build_zh(self) -> list[Rec]:
        g, rng = self.g, self.rng
        topics = sorted(g.zh)
        recs: list[Rec] = []
        originals: list[Rec] = []
        for i in range(109):
            topic = topics[i % len(topics)]
            if i % 11 == 10:
                text = g.zh_composite()
                topic = "statistics"
            else:
                text = g.zh_doc(topic)
            r = Rec(text, "zh-Hans", ["original"], self.zh_meta(topic))
            originals.append(r)
        recs += originals
        hant: list[Rec] = []
        for i in range(12):
            region = "hk" if i % 2 == 0 else "tw"
            host = "data.example.gov.hk" if region == "hk" else "data.example.gov.tw"
            meta = self.zh_meta("public_service", source=f"{region}-open-data", host=host)
            meta["topic"] = "hong-kong" if region == "hk" else "taiwan"
            hant.append(Rec(g.hant_doc(region), "zh-Hant", ["original"], meta))
        recs += hant
        for text in JA_TEXTS:
            recs.append(Rec(text, "ja", ["original"], self.zh_meta("partner-city", "jp-partner-city")))
        for text in KO_TEXTS:
            recs.append(Rec(text, "ko", ["original"], self.zh_meta("partner-city", "kr-partner-city")))
        # code-mixed
        for topic, literal in CODE_MIXED:
            ctx = zh_context(rng)
            lead = g.zh_paragraphs([topic], rng.randint(120, 260), ctx, close=False)
            body, holder = literal, Rec("", None, [])
            if "{IP4}" in literal:
                body, found = fill_special(literal, rng, PII_MAKERS)
                for _, value in found:
                    holder.pii["IP_ADDRESS"] = holder.pii.get("IP_ADDRESS", 0) + 1
                    holder.pii_values.setdefault("IP_ADDRESS", []).append(value)
            text = "\n".join([*lead, body])
            g.zh_reg.add(text)
            kinds = ["original", "code_mixed"] + (["pii"] if holder.pii else [])
            recs.append(Rec(text, "mixed", kinds, self.zh_meta(topic), holder.pii, holder.pii_values))
        # PII
        for i in range(14):
            topic = topics[(i * 5) % len(topics)]
            glued = i % 2 == 0

            def make_pii(topic: str = topic) -> list[str]:
                return g.zh_paragraphs([topic], rng.randint(200, 600), zh_context(rng))

            paras = g.zh_reg.accept(make_pii, "\n".join)
            ctx = zh_context(rng)
            templates = ZH_PII_GLUED if glued else ZH_PII_SPACED
            sents, holder = self.pii_sentences(templates, 1 + (i // 2) % 2, ctx, ZH_SLOTS)
            text = "\n".join(self.insert_sentences(paras, sents, ""))
            r = Rec(text, "zh-Hans", ["original", "pii"], self.zh_meta(topic), holder.pii, holder.pii_values)
            r.glued = sum(holder.pii.values()) if glued else 0
            recs.append(r)
        # decoys
        for i in range(6):
            topic = topics[(i * 7 + 3) % len(topics)]
            paras = g.zh_reg.accept(
                lambda topic=topic: g.zh_paragraphs([topic], rng.randint(200, 600), zh_context(rng)),
                "\n".join,
            )
            sents, values = self.decoy_sentences(ZH_DECOYS, 1 + i % 2)
            text = "\n".join(self.insert_sentences(paras, sents, ""))
            r = Rec(text, "zh-Hans", ["original", "decoy"], self.zh_meta(topic))
            r.decoys = values
            recs.append(r)
        # low quality
        filler = "".join(rng.choice(self.cjk_pool()) for _ in range(160))
        lq = dict(ZH_LOW_QUALITY)
        lq["filler"] = "\n".join(filler[i : i + 40] for i in range(0, 160, 40))
        for name in ["short", "nav", "repeat", "spam", "filler"]:
            r = Rec(
                lq[name], "zh-Hans", ["original", "low_quality"], self.zh_meta("portal", "sz-portal-crawl")
            )
            r.note = name
            recs.append(r)
        # hard negatives
        for i in range(4):
            topic = topics[(i * 3 + 1) % len(topics)]
            body = g.zh_reg.accept(
                lambda topic=topic: g.zh_paragraphs(
                    [topic], rng.randint(220, 360), zh_context(rng), title=False, close=False
                ),
                "\n".join,
            )
            text = "\n".join([ZH_DISCLAIMER_HEAD, *body, ZH_DISCLAIMER_FOOT])
            recs.append(Rec(text, "zh-Hans", ["hard_negative"], self.zh_meta(topic)))
        rng.shuffle(recs)
        # exact duplicates: 3 verbatim, 2 with whitespace noise (one of them a Traditional record)
        srcs = rng.sample(originals[:100], 9)
        dups: list[Rec] = []
        for j, src in enumerate([*srcs[:4], hant[3]]):
            noisy = j >= 3
            text = noisy_zh(src.text, rng, j - 3) if noisy else src.text
            assert normalise(text) == normalise(src.text)
            d = Rec(text, src.lang, ["exact_dup"], {**src.meta}, dup_src=src)
            d.note = "whitespace noise" if noisy else "verbatim"
            dups.append(d)
        pool = self.cjk_pool()
        for j, src in enumerate(srcs[4:]):
            rate = [0.022, 0.03, 0.035, 0.04, 0.048][j]
            text, k, n = edit_zh(src.text, rng, rate, pool)
            d = Rec(text, src.lang, ["near_dup"], {**src.meta}, dup_src=src)
            sim = jaccard(shingles(text), shingles(src.text))
            d.note = f"{k}/{n} CJK chars edited ({k / n:.1%}), J5={sim:.2f}"
            dups.append(d)
        return self.place_after(recs, dups)

    def cjk_pool(self) -> list[str]:
        chars = {c for c in ZH_TOPICS_SRC if "\u4e00" <= c <= "\u9fff"}
        return sorted(chars)

    def place_after(self, recs: list[Rec], dups: list[Rec]) -> list[Rec]:
        """Insert each duplicate at a random position after its source."""
        out = list(recs)
        for d in dups:
            pos = next(i for i, r in enumerate(out) if r is d.dup_src)
            out.insert(self.rng.randint(pos + 1, len(out)), d)
        return out

    # -- b) web_en.jsonl ------------------------------------------------------------------------
    def build_en(self) -> list[Rec]:
        g, rng = self.g, self.rng
        topics = sorted(g.en)
        recs: list[Rec] = []
        originals = []
        for i in range(120):
            topic = topics[i % len(topics)]
            text = g.en_doc(topic)
            originals.append(Rec(text, "en", ["original"], self.en_meta(topic, text)))
        recs += originals
        for i in range(7):
            topic = topics[(i * 5 + 2) % len(topics)]
            paras = g.en_reg.accept(
                lambda topic=topic: g.en_paragraphs(topic, rng.randint(3, 6), en_context(rng)), "\n".join
            )
            sents, holder = self.pii_sentences(EN_PII, 1 + i % 2, en_context(rng), EN_SLOTS)
            text = "\n".join(self.insert_sentences(paras, sents, " "))
            recs.append(
                Rec(text, "en", ["original", "pii"], self.en_meta(topic, text), holder.pii, holder.pii_values)
            )
        for i in range(4):
            topic = topics[(i * 7 + 1) % len(topics)]
            paras = g.en_reg.accept(
                lambda topic=topic: g.en_paragraphs(topic, rng.randint(3, 6), en_context(rng)), "\n".join
            )
            sents, values = self.decoy_sentences(EN_DECOYS, 1 + i % 2)
            text = "\n".join(self.insert_sentences(paras, sents, " "))
            r = Rec(text, "en", ["original", "decoy"], self.en_meta(topic, text))
            r.decoys = values
            recs.append(r)
        for name in ["short", "nav", "repeat", "spam", "filler"]:
            text = EN_LOW_QUALITY[name]
            r = Rec(text, "en", ["original", "low_quality"], self.en_meta("spam", text))
            r.note = name
            recs.append(r)
        for i in range(4):
            topic = topics[(i * 5 + 3) % len(topics)]
            body = g.en_reg.accept(
                lambda topic=topic: g.en_paragraphs(topic, rng.randint(4, 5), en_context(rng), title=False),
                "\n".join,
            )
            text = "\n".join([EN_DISCLAIMER_HEAD, *body, EN_DISCLAIMER_FOOT])
            meta = self.en_meta(topic, text)
            meta["license"] = "CC-BY-4.0"
            recs.append(Rec(text, "en", ["hard_negative"], meta))
        rng.shuffle(recs)
        srcs = rng.sample(originals[:110], 10)
        vocab = sorted({w for w in re.findall(r"[a-z]+", EN_TOPICS_SRC.lower()) if len(w) > 2})
        dups: list[Rec] = []
        for j, src in enumerate(srcs[:5]):
            noisy = j >= 2
            text = noisy_en(src.text, rng, j - 2) if noisy else src.text
            assert normalise(text) == normalise(src.text), (text, src.text)
            d = Rec(text, "en", ["exact_dup"], {**src.meta}, dup_src=src)
            d.note = "whitespace/case noise" if noisy else "verbatim"
            dups.append(d)
        for j, src in enumerate(srcs[5:]):
            rate = [0.022, 0.03, 0.035, 0.04, 0.048][j]
            text, k, n = edit_en(src.text, rng, rate, vocab)
            d = Rec(text, "en", ["near_dup"], {**src.meta}, dup_src=src)
            d.note = (
                f"{k}/{n} words edited ({k / n:.1%}), J5={jaccard(shingles(text), shingles(src.text)):.2f}"
            )
            dups.append(d)
        return self.place_after(recs, dups)

    # -- c) licensed_vertical.parquet -----------------------------------------------------------
    def build_vertical(self) -> list[Rec]:
        g, rng = self.g, self.rng
        sectors = ["health", "education", "transport", "finance", "low_altitude"]
        sources = {
            "health": ("sz-health-commission", "LicenseRef-sz-health-data-agreement"),
            "education": ("edu-bureau", "CC-BY-4.0"),
            "transport": ("metro-ops", "CC-BY-NC-4.0"),
            "finance": ("bank-consortium", "LicenseRef-bank-consortium-research"),
            "low_altitude": ("uav-traffic-center", "CC-BY-NC-4.0"),
        }
        doc_types = ["statistical-bulletin", "service-report", "monthly-digest", "annual-review"]
        recs: list[Rec] = []
        plan = ["zh"] * 36 + ["en"] * 20
        for i, lang in enumerate(plan):
            sector = sectors[i % 5]
            pii = i in (7, 23, 41, 52)
            if lang == "zh":
                ctx = zh_context(rng)

                def make_vert(sector: str = sector, ctx: dict[str, str] = ctx) -> list[str]:
                    paras = g.zh_paragraphs([sector], rng.randint(200, 700), ctx, title=rng.random() < 0.5)
                    paras.insert(1 if len(paras) > 2 else 0, rng.choice(ZH_VERTICAL_INTRO[sector]))
                    return paras

                paras = g.zh_reg.accept(make_vert, "\n".join)
                holder = Rec("", None, [])
                glued = i % 2 == 1
                if pii:
                    templates = ZH_PII_GLUED if glued else ZH_PII_SPACED
                    sents, holder = self.pii_sentences(templates, 2, ctx, ZH_SLOTS)
                    paras = self.insert_sentences(paras, sents, "")
                text = "\n".join(paras)
                r = Rec(text, "zh-Hans", ["original"], pii=holder.pii, pii_values=holder.pii_values)
                r.glued = sum(holder.pii.values()) if glued else 0
            else:
                text = g.en_vertical_doc(sector)
                holder = Rec("", None, [])
                if pii:
                    sents, holder = self.pii_sentences(EN_PII, 1, en_context(rng), EN_SLOTS)
                    text = text + " " + sents[0]
                r = Rec(text, "en", ["original"], pii=holder.pii, pii_values=holder.pii_values)
            if pii:
                r.kinds.append("pii")
            r.meta = {"sector": sector, "src": sources[sector]}
            recs.append(r)
        for sector, zh, en in BILINGUAL:
            values = {"A": str(rng.randint(12, 80)), "B": f"{rng.randint(1200, 9800)}"}
            en_values = {**values, "B": f"{int(values['B']):,}"}
            text = render(zh, rng, values, ZH_SLOTS) + "\n" + render(en, rng, en_values, EN_SLOTS)
            r = Rec(text, "mixed", ["original"])
            r.meta = {"sector": sector, "src": sources[sector]}
            recs.append(r)
        rng.shuffle(recs)
        for r in recs:
            sector = r.meta["sector"]
            source, licence = r.meta.pop("src")
            collected = date(2026, 7, 1) + timedelta(days=rng.randrange(0, 92))
            r.meta = {
                "source": source,
                "license": licence,
                "metadata": json.dumps(
                    {"sector": sector, "collected": collected.isoformat(), "doc_type": rng.choice(doc_types)},
                    ensure_ascii=False,
                ),
            }
        return recs


# ---------------------------------------------------------------------------------------------
# Media
# ---------------------------------------------------------------------------------------------


def _image_bytes(kind: str, fmt: str, size: int) -> bytes:
    from PIL import Image, ImageDraw  # dev-only dependency

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    if kind == "stripes":
        for k in range(-size, size, 8):
            draw.line([(k, 0), (k + size, size)], fill=(30, 90, 200), width=3)
            draw.line([(k + 4, 0), (k + 4 + size, size)], fill=(240, 140, 30), width=2)
    elif kind == "circles":
        for rad in range(size // 2, 0, -6):
            c = size // 2
            draw.ellipse([c - rad, c - rad, c + rad, c + rad], outline=(20, 150, 60), width=2)
    elif kind == "checker":
        for y in range(0, size, 8):
            for x in range(0, size, 8):
                if (x // 8 + y // 8) % 2 == 0:
                    draw.rectangle([x, y, x + 7, y + 7], fill=(40, 40, 40))
    elif kind == "gradient":
        for y in range(size):
            draw.line([(0, y), (size, y)], fill=(y * 255 // size, 120, 255 - y * 255 // size))
    elif kind == "grid":
        for k in range(0, size, 6):
            draw.line([(k, 0), (k, size)], fill=(200, 30, 30))
            draw.line([(0, k), (size, k)], fill=(30, 30, 200))
    elif kind == "skyline":
        draw.rectangle([0, 0, size, size], fill=(180, 210, 240))
        rng = random.Random(7)
        x = 0
        while x < size:
            w, h = rng.randint(4, 9), rng.randint(10, size - 8)
            draw.rectangle([x, size - h, x + w, size], fill=(60, 60, 80))
            x += w + 1
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=85, optimize=False, progressive=False)
    else:
        img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _wav_bytes(freq: float, seconds: float = 1.0, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    frames = b"".join(
        struct.pack("<h", round(12000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n)
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def build_media() -> tuple[list[tuple[str, str, bytes]], dict[str, dict[str, Any]]]:
    """Members ``(key, ext, bytes)`` in tar order, and labels per key."""
    stripes = _image_bytes("stripes", "JPEG", 48)
    members: list[tuple[str, str, bytes]] = []
    labels: dict[str, dict[str, Any]] = {}

    def add(
        n: int, parts: list[tuple[str, bytes]], lang: str | None, kinds: list[str], dup: str = ""
    ) -> None:
        key = f"sample-{n:06d}"
        for ext, data in parts:
            members.append((key, ext, data))
        label: dict[str, Any] = {"lang": lang, "kind": kinds}
        if dup:
            label["dup_of"] = dup
        label["pii"] = {}
        label["media"] = [ext for ext, _ in parts]
        labels[key] = label

    add(
        1,
        [("jpg", stripes), ("txt", "蓝色与橙色相间的斜条纹测试图案，用于演示图文样本。".encode())],
        "zh-Hans",
        ["original"],
    )
    add(
        2,
        [
            ("jpg", _image_bytes("circles", "JPEG", 48)),
            ("txt", b"A small test image of green concentric circles on a white background."),
        ],
        "en",
        ["original"],
    )
    add(
        3,
        [
            ("jpg", _image_bytes("checker", "JPEG", 48)),
            ("txt", "黑白棋盘格测试图像，每个方格边长八个像素。".encode()),
        ],
        "zh-Hans",
        ["original"],
    )
    for n, kind, caption in [
        (4, "gradient", "A vertical colour gradient from blue to red, used as a placeholder city photo."),
        (5, "grid", "城市街区示意网格：红色竖线与蓝色横线交织的测试图案。"),
    ]:
        meta = {"text": caption, "license": "CC-BY-4.0", "source": "city-photo-archive"}
        add(
            n,
            [("png", _image_bytes(kind, "PNG", 32)), ("json", json.dumps(meta, ensure_ascii=False).encode())],
            "en" if caption.isascii() else "zh-Hans",
            ["original"],
        )
    add(
        6,
        [("wav", _wav_bytes(440.0)), ("txt", "测试音：440赫兹正弦波，时长一秒。".encode())],
        "zh-Hans",
        ["original"],
    )
    add(7, [("jpg", _image_bytes("skyline", "JPEG", 48))], None, ["original"])
    add(8, [("jpg", stripes)], None, ["exact_dup"], dup="sample-000001")
    add(9, [("wav", _wav_bytes(660.0))], None, ["original"])
    return members, labels


def write_tar(path: Path, members: list[tuple[str, str, bytes]]) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, ext, data in members:
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size = len(data)
            info.mtime = TAR_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "corpus-kit"
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


def json_line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def assign_ids(recs: list[Rec], fmt: str) -> None:
    for i, r in enumerate(recs, 1):
        r.id = fmt.format(i)


def write_zh(path: Path, recs: list[Rec]) -> None:
    raw = b"".join(json_line({"id": r.id, "text": r.text, "metadata": r.meta}) for r in recs)
    with (
        path.open("wb") as f,
        gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as gz,
    ):
        gz.write(raw)


# Malformed lines for web_en.jsonl: (1-based line number in the final file, description, raw bytes).
MALFORMED: list[tuple[int, str, bytes]] = [
    (
        18,
        "broken JSON (truncated object)",
        b'{"id": "en-bad-1", "text": "This article was cut off in the midd',
    ),
    (47, "not an object (a JSON array)", b'["en-bad-2", "a JSON array is not a record", 3]'),
    (
        76,
        "object with no text field and no media",
        b'{"id": "en-bad-3", "metadata": {"source": "web-crawl-2026-10", "license": "CC-BY-4.0"}}',
    ),
    (93, "empty line (not a record)", b""),
    (
        109,
        '"text" is a number',
        b'{"id": "en-bad-4", "text": 404, "metadata": {"source": "web-crawl-2026-10"}}',
    ),
    (
        137,
        "invalid UTF-8 bytes inside a string value",
        b'{"id": "en-bad-5", "text": "Caf\xc3\xa9 menu from a legacy page: \xff\xfe\xfa garbled bytes", '
        b'"metadata": {"source": "web-crawl-2026-10"}}',
    ),
]


def write_en(path: Path, recs: list[Rec]) -> None:
    lines = [json_line({"id": r.id, "text": r.text, "metadata": r.meta}) for r in recs]
    for lineno, _, raw in MALFORMED:
        lines.insert(lineno - 1, raw + b"\n")
    path.write_bytes(b"".join(lines))


def write_parquet(path: Path, recs: list[Rec]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("text", pa.string()),
            ("source", pa.string()),
            ("license", pa.string()),
            ("metadata", pa.string()),
        ]
    )
    table = pa.table(
        {
            "id": [r.id for r in recs],
            "text": [r.text for r in recs],
            "source": [r.meta["source"] for r in recs],
            "license": [r.meta["license"] for r in recs],
            "metadata": [r.meta["metadata"] for r in recs],
        },
        schema=schema,
    )
    pq.write_table(table, path, row_group_size=30, compression="zstd")


def label_of(r: Rec) -> dict[str, Any]:
    out: dict[str, Any] = {"lang": r.lang, "kind": r.kinds}
    if r.dup_src is not None:
        out["dup_of"] = r.dup_src.id
    out["pii"] = dict(sorted(r.pii.items()))
    if r.pii_values:
        out["pii_values"] = dict(sorted(r.pii_values.items()))
    if r.decoys:
        out["decoy_values"] = r.decoys
    return out


# ---------------------------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------------------------


def _count_table(groups: dict[str, list[Rec]], media_labels: dict[str, dict[str, Any]]) -> list[str]:
    kinds = [
        "original",
        "exact_dup",
        "near_dup",
        "hard_negative",
        "pii",
        "decoy",
        "low_quality",
        "code_mixed",
    ]
    langs = ["zh-Hans", "zh-Hant", "en", "ja", "ko", "mixed"]
    head = "| file | records | " + " | ".join(kinds) + " |"
    rows = [head, "|" + "---|" * (len(kinds) + 2)]
    for name, recs in groups.items():
        c = Counter(k for r in recs for k in r.kinds)
        rows.append(f"| `{name}` | {len(recs)} | " + " | ".join(str(c[k]) for k in kinds) + " |")
    mc = Counter(k for lab in media_labels.values() for k in lab["kind"])
    rows.append(f"| `media.tar` | {len(media_labels)} | " + " | ".join(str(mc[k]) for k in kinds) + " |")
    total = [r for recs in groups.values() for r in recs]
    tc = Counter(k for r in total for k in r.kinds) + mc
    rows.append(
        f"| **total** | {len(total) + len(media_labels)} | " + " | ".join(str(tc[k]) for k in kinds) + " |"
    )
    rows += ["", "| file | " + " | ".join(langs) + " | none (media only) |", "|" + "---|" * (len(langs) + 2)]
    for name, recs in groups.items():
        c = Counter(r.lang for r in recs)
        rows.append(f"| `{name}` | " + " | ".join(str(c[x]) for x in langs) + " | 0 |")
    ml = Counter(lab["lang"] for lab in media_labels.values())
    rows.append("| `media.tar` | " + " | ".join(str(ml[x]) for x in langs) + f" | {ml[None]} |")
    return rows


def _version(module: str) -> str:
    return str(getattr(__import__(module), "__version__", "?"))


def write_readme(
    path: Path, groups: dict[str, list[Rec]], media_labels: dict[str, dict[str, Any]], sizes: dict[str, int]
) -> None:
    all_recs = [r for recs in groups.values() for r in recs]
    pii_total: Counter[str] = Counter()
    for r in all_recs:
        pii_total.update(r.pii)
    glued = sum(r.glued for r in all_recs)
    zh_values = sum(sum(r.pii.values()) for r in all_recs if r.lang in ("zh-Hans", "zh-Hant", "mixed"))
    pii_values = sum(pii_total.values())
    lines = [
        "# Demo sample",
        "",
        "A small, fully synthetic intake of a city data agency's AI-training corpus: public open data,",
        "licensed vertical-industry sources (health, education, transport, finance, low-altitude economy)",
        "and web text, in Chinese and English, plus a few captioned images and audio clips. `corpus-kit dem"
        "o`",
        "runs on it. Every record and every personal-looking value was generated by",
        "`scripts/make_demo_sample.py` (fixed seed, byte-reproducible); no text comes from real people.",
        "Do not edit these files by hand: change the script and run",
        "`python scripts/make_demo_sample.py` (needs pyarrow and Pillow). The output is byte-identical",
        f"for the same library versions; this copy was made with pyarrow {_version('pyarrow')} and",
        f"Pillow {_version('PIL')} (the Parquet footer and the JPEG encoder depend on them).",
        "",
        "## Files",
        "",
        "| file | bytes | what |",
        "|---|---|---|",
        f"| `open_data_zh.jsonl.gz` | {sizes['open_data_zh.jsonl.gz']} | gzip JSONL, "
        "`{id, text, metadata: {source, license, url, topic}}`; Simplified and Traditional Chinese, "
        "Japanese, Korean, Chinese mixed with code |",
        f"| `web_en.jsonl` | {sizes['web_en.jsonl']} | plain JSONL, same shape; English web text; "
        "licences mixed, some records have no `license` key; **6 malformed lines** (below) |",
        f"| `licensed_vertical.parquet` | {sizes['licensed_vertical.parquet']} | columns `id, text, source, "
        "license, metadata` (all strings; `metadata` holds a JSON object); 2 row groups of 30 |",
        f"| `media.tar` | {sizes['media.tar']} | uncompressed WebDataset tar, keys `sample-000001`..; "
        "samples contiguous |",
        f"| `labels.json` | {sizes['labels.json']} | ground truth per record id (below) |",
        "",
        "## Counts",
        "",
        "Kinds are tags; a record has exactly one of `original`, `exact_dup`, `near_dup`, `hard_negative`",
        "(its role for deduplication) and any of `pii`, `decoy`, `low_quality`, `code_mixed`.",
        "",
        *_count_table(groups, media_labels),
        "",
        "`mixed` is the language label of the 15 `code_mixed` records (Chinese prose with English terms,",
        "shell commands, SQL, Python, YAML, JSON) and of 4 bilingual zh+en Parquet rows.",
        "Media-only samples (no caption) have `lang: null`.",
        "",
        "## Duplicates",
        "",
        "Exact duplicates repeat an earlier record's text under a new id; the noisy ones differ only by",
        "whitespace (half-width, full-width U+3000, tabs, extra line breaks) and letter case, i.e. they",
        "are equal after NFKC + lower-casing + collapsing whitespace runs. Near duplicates have 2-5% of",
        "their CJK characters (Chinese) or words (English) substituted, deleted or inserted; `J5` is the",
        "Jaccard similarity of character 5-gram sets with the source. Generated originals are pairwise",
        f"below J5 = {MAX_ORIGINAL_SIMILARITY} within each language.",
        "",
        "| id | kind | dup_of | noise |",
        "|---|---|---|---|",
    ]
    for r in all_recs:
        if r.dup_src is not None:
            lines.append(f"| `{r.id}` | {r.kinds[0]} | `{r.dup_src.id}` | {r.note} |")
    lines.append("| `sample-000008` | exact_dup | `sample-000001` | identical JPEG bytes, no caption |")
    hard = [r.id for r in all_recs if "hard_negative" in r.kinds]
    lines += [
        "",
        f"Hard negatives ({len(hard)}): {', '.join(f'`{x}`' for x in hard)} - different texts that share the",
        "same two-sentence agency disclaimer as header and footer (one wording for Chinese, one for",
        "English). They are not duplicates of each other.",
        "",
        "## PII and decoys",
        "",
        f"{sum(1 for r in all_recs if 'pii' in r.kinds)} records hold {pii_values} synthetic PII values "
        f"({zh_values} of them in Chinese text, {glued} of those glued to it without spaces):",
        "",
        "| entity | values | what |",
        "|---|---|---|",
        f"| `PHONE_NUMBER` | {pii_total['PHONE_NUMBER']} | mainland mobiles (plain and +86 forms) and "
        "landlines with area code (0755-xxxxxxxx, (0755)xxxxxxxx, 010-...) |",
        f"| `EMAIL_ADDRESS` | {pii_total['EMAIL_ADDRESS']} | addresses at example.com/.org/.net |",
        f"| `CN_ID_CARD` | {pii_total['CN_ID_CARD']} | 18-character resident ID numbers: real region code, "
        "real birth date, valid GB 11643 (ISO 7064 MOD 11-2) check character, some ending in X |",
        f"| `BANK_CARD` | {pii_total['BANK_CARD']} | 16, 17 or 19 digits, Luhn-valid |",
        f"| `CN_USCC` | {pii_total['CN_USCC']} | unified social credit codes, valid GB 32100 check "
        "(and valid GB 11714 check inside the organisation code) |",
        f"| `IP_ADDRESS` | {pii_total['IP_ADDRESS']} | IPv4 in documentation ranges, IPv6 in 2001:db8::/32 |",
        "",
        f"{sum(1 for r in all_recs if 'decoy' in r.kinds)} `decoy` records hold look-alikes that are NOT PII "
        "and must not be detected: order numbers (some 20 digits, Luhn-invalid), 18-digit numbers with a va"
        "lid "
        "region and date but a wrong ID check digit (also Luhn-invalid), dotted version strings such as "
        "`10.2.3.4` in a software context, ISBN-13s and 14-digit timestamps. `labels.json` lists them under "
        "`decoy_values`. No other record contains a number of 11 or more digits.",
        "",
        "## Low-quality records",
        "",
    ]
    for r in all_recs:
        if "low_quality" in r.kinds:
            lines.append(f"- `{r.id}` ({r.lang}): {r.note}, {len(r.text)} characters")
    lines += [
        "",
        "(`short`: under 20 characters; `nav`: navigation bar repeated; `repeat`: one line repeated;",
        "`spam`: symbol-heavy advertising; `filler`: lorem ipsum / random-character filler.)",
        "",
        "## Malformed lines in `web_en.jsonl`",
        "",
        "These lines are not records and are not in `labels.json`; a reader should reject (or skip) them an"
        "d go",
        "on with the next line. Line numbers are 1-based.",
        "",
        "| line | what |",
        "|---|---|",
    ]
    for lineno, what, _ in MALFORMED:
        lines.append(f"| {lineno} | {what} |")
    n_en = len(groups["web_en.jsonl"])
    lines += [
        "",
        f"The file has {n_en + len(MALFORMED)} lines: {n_en} valid records, 5 malformed lines and"
        " 1 empty line.",
        "",
        "## labels.json",
        "",
        "One object keyed by record id (tar samples by key) for every valid record:",
        "",
        "```json",
        '{"zh-0001": {"lang": "zh-Hans", "kind": ["original", "pii"], "pii": {"PHONE_NUMBER": 1},',
        '             "pii_values": {"PHONE_NUMBER": ["13800000000"]}},',
        ' "en-0042": {"lang": "en", "kind": ["near_dup"], "dup_of": "en-0007", "pii": {}}}',
        "```",
        "",
        "- `lang`: `zh-Hans`, `zh-Hant`, `en`, `ja`, `ko`, `mixed`, or `null` for media-only samples;",
        "- `kind`: tags as above; `dup_of`: the earlier record for `exact_dup` / `near_dup`;",
        "- `pii`: counts of true PII values per entity (empty object when none); `pii_values`: the values;",
        "- `decoy_values`: look-alike strings that are not PII; `media`: member extensions of a tar sample.",
        "",
        "All values are fictitious: phone numbers, ID numbers, cards and codes are random with computed",
        "check digits, addresses use reserved example domains and documentation IP ranges.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "-o", "--out", type=Path, default=DEFAULT_OUT, help="output folder (default samples/demo)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    builder = DemoBuilder(args.seed)
    zh = builder.build_zh()
    en = builder.build_en()
    vertical = builder.build_vertical()
    assign_ids(zh, "zh-{:04d}")
    assign_ids(en, "en-{:04d}")
    assign_ids(vertical, "vert-{:04d}")
    members, media_labels = build_media()

    write_zh(out / "open_data_zh.jsonl.gz", zh)
    write_en(out / "web_en.jsonl", en)
    write_parquet(out / "licensed_vertical.parquet", vertical)
    write_tar(out / "media.tar", members)

    labels: dict[str, Any] = {r.id: label_of(r) for r in [*zh, *en, *vertical]}
    labels.update(media_labels)
    (out / "labels.json").write_text(
        json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    names = ["open_data_zh.jsonl.gz", "web_en.jsonl", "licensed_vertical.parquet", "media.tar", "labels.json"]
    sizes = {n: (out / n).stat().st_size for n in names}
    groups = {"open_data_zh.jsonl.gz": zh, "web_en.jsonl": en, "licensed_vertical.parquet": vertical}
    write_readme(out / "README.md", groups, media_labels, sizes)

    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    for n in [*names, "README.md"]:
        digest = hashlib.sha256((out / n).read_bytes()).hexdigest()[:16]
        print(f"{(out / n).stat().st_size:>9}  {digest}  {n}")
    print(f"{total:>9}  total ({len(labels)} labelled records)")


if __name__ == "__main__":
    main()
